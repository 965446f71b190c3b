import http from 'node:http';
import { expect } from 'chai';
import { ManualClock } from '../src/clock';
import { startTestServer, type TestServer } from './support/harness';

async function health(baseUrl: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${baseUrl}/health`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('/health', function () {
  this.timeout(60_000);
  let server: TestServer | undefined;

  afterEach(async () => {
    // The database may have been closed under the server by the test.
    if (server !== undefined && !server.dataSource.isInitialized) await server.app.close(2000);
    await server?.close().catch(() => undefined);
    server = undefined;
  });

  it('asks the database at most once a second, and answers 503 once a ping fails', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ PROVISOR_ENGINE: 'false', PROVISOR_WORKFLOW: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false', PROVISOR_CHANGES: 'false' }, { clock });
    const first = await health(server.baseUrl);
    expect(first.status).to.equal(200);
    expect(JSON.parse(first.body)).to.include({ status: 'ok' });

    // The database goes away: within the second since its last answer, /health still says it answered.
    await server.dataSource.destroy();
    clock.advance(900);
    expect((await health(server.baseUrl)).status, 'within a second of the last answer').to.equal(200);

    clock.advance(100);
    const down = await health(server.baseUrl);
    expect(down.status, 'a second after the last answer, the failed ping shows').to.equal(503);
    expect(JSON.parse(down.body)).to.include({ status: 'unavailable' });
    expect((await health(server.baseUrl)).status, 'a failure is not remembered as an answer').to.equal(503);
  });
});
