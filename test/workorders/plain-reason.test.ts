import { expect } from 'chai';
import { plainReason } from '../../src/workorders/plain-reason';

describe('the reason a customer reads when an order fails', () => {
  it('keeps the pool\'s own words, without the fault name, the plan\'s wording, the request id or the hook', () => {
    const recorded =
      '{urn:provisor:catalog:storage}operationFailed: createVolume on pool1 ended COMPLETED_FAILURE (request 0b9e5a52-6c1e-4c55-9a57-7c3f0e0a1b2c): ' +
      'configure hook of storage-pool 1.0.0 exited with code 2: volume "vol1" already exists in account "acme"';
    expect(plainReason(recorded)).to.equal('volume "vol1" already exists in account "acme"');
  });

  it('drops a prefixed fault name and a request id left in the text', () => {
    expect(plainReason('st:operationFailed: takeSnapshot on pool1 ended UNKNOWN (request 0b9e5a52-6c1e-4c55-9a57-7c3f0e0a1b2c): the worker died')).to.equal('the worker died');
  });

  it('says which fault a plan threw without a message, without the activity', () => {
    expect(plainReason('activity /process/sequence/if/throw "failOnPurpose" threw {urn:provisor:test:echo}requestedFailure')).to.equal('the order could not be carried out (requestedFailure)');
    expect(plainReason('activity /process/sequence/invoke "create": the partner is unreachable')).to.equal('the partner is unreachable');
  });

  it('does not give a customer the text of an internal error', () => {
    expect(plainReason('configure hook of storage-pool 1.0.0 exited with code 1: storage-pool internal error: EACCES /srv/pool/x')).to.equal(
      'the order could not be carried out because of an internal error; our staff have the details',
    );
  });

  it('leaves a plain reason as it is, and never answers nothing', () => {
    expect(plainReason('failed by hand: customer cancelled')).to.equal('failed by hand: customer cancelled');
    expect(plainReason('{urn:x}boom: ')).to.equal('the order could not be carried out');
  });
});
