import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { type CliResult, runCliInProcess, spawnCli } from './support/cli';
import { freshEnvironment } from './support/harness';

describe('provisor repository add refuses folders that would expose the machine or Provisor itself', function () {
  this.timeout(60_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let keyDir: string;
  const run = (args: string[]): Promise<CliResult> => runCliInProcess(args, { ...environment.env, PROVISOR_SECRET_KEY_FILE: path.join(keyDir, 'secret.key') });

  before(async () => {
    environment = await freshEnvironment();
    keyDir = path.join(environment.dataDir, 'outer', 'keys');
    fs.mkdirSync(keyDir, { recursive: true });
    fs.mkdirSync(path.join(environment.dataDir, 'systems', 'web1'), { recursive: true });
    fs.mkdirSync(path.join(environment.dataDir, 'links'));
    fs.symlinkSync('/etc', path.join(environment.dataDir, 'links', 'etc-link'));
    fs.symlinkSync('/', path.join(environment.dataDir, 'links', 'root-link'));
  });
  after(() => environment.cleanup());

  const refused: Array<[string, () => string, RegExp, boolean?]> = [
    ['/etc', () => '/etc', /refused: \/etc is the system folder \/etc/],
    ['/', () => '/', /refused: \/ is the system folder \/;/],
    ['/root', () => '/root', /is the system folder \/root/],
    ['/home', () => '/home', /is the system folder \/home/],
    ['/proc', () => '/proc', /is the system folder \/proc/],
    ['/usr', () => '/usr', /is the system folder \/usr/],
    ['/var', () => '/var', /is the system folder \/var/],
    ['a folder inside /etc', () => '/etc/ssl', /is inside the system folder \/etc/],
    ['a link to /etc', () => path.join(environment.dataDir, 'links', 'etc-link'), /etc-link \(which resolves to \/etc\) is the system folder \/etc/],
    ['a link to /', () => path.join(environment.dataDir, 'links', 'root-link'), /\(which resolves to \/\) is the system folder \//],
    ["Provisor's data folder", () => environment.dataDir, /is Provisor's data folder/],
    ["a folder containing the secret key's folder", () => path.join(environment.dataDir, 'outer'), /outer contains the folder of Provisor's secret key/],
    ["the secret key's folder", () => keyDir, /is the folder of Provisor's secret key/],
    ["a managed system's root", () => path.join(environment.dataDir, 'systems', 'web1'), /is inside the managed systems' roots folder/],
    ['a folder that does not exist', () => path.join(environment.dataDir, 'nowhere'), /does not exist/, false],
  ];
  for (const [what, location, message, explains = true] of refused) {
    it(`refuses ${what} with a message naming the rule, and registers nothing`, async () => {
      const r = await run(['repository', 'add', location()]);
      expect(r.code, r.out).to.not.equal(0);
      expect(r.err).to.match(message);
      if (explains) expect(r.err).to.contain('operators can copy any file of a repository');
      expect((await run(['repository', 'list'])).out).to.equal('');
    });
  }

  it('registers an ordinary folder by its real path, and a URL as given (the real command)', async () => {
    const folder = path.join(environment.dataDir, 'packages');
    fs.mkdirSync(folder);
    fs.symlinkSync(folder, path.join(environment.dataDir, 'links', 'packages-link'));
    const added = await run(['repository', 'add', path.join(environment.dataDir, 'links', 'packages-link')]);
    expect(added.code, added.err).to.equal(0);
    const url = spawnCli(['repository', 'add', 'https://packages.example/repo'], { ...environment.env, PROVISOR_SECRET_KEY_FILE: path.join(keyDir, 'secret.key') });
    expect(url.code, url.err).to.equal(0);
    expect((await run(['repository', 'list'])).out.split('\n')).to.include.members([fs.realpathSync(folder), 'https://packages.example/repo']);
  });
});
