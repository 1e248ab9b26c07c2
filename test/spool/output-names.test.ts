import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputNames } from "../../src/spool/output-names.ts";

describe("OutputNames: who may write which name in done/", () => {
  it("holds a reserved name for its job until that job releases it", () => {
    const outputs = new OutputNames();
    assert.equal(outputs.isReserved("disk.qcow2"), false);
    outputs.reserve("disk.qcow2", "job-a");
    assert.equal(outputs.isReserved("disk.qcow2"), true);
    assert.equal(outputs.isReserved("other.qcow2"), false);
    outputs.release("disk.qcow2", "job-a");
    assert.equal(outputs.isReserved("disk.qcow2"), false);
  });

  it("keeps a name another job holds when a job releases it", () => {
    const outputs = new OutputNames();
    outputs.reserve("disk.qcow2", "job-b");
    outputs.release("disk.qcow2", "job-a");
    assert.equal(outputs.isReserved("disk.qcow2"), true);
    outputs.release("disk.qcow2", "job-b");
    assert.equal(outputs.isReserved("disk.qcow2"), false);
  });

  it("gives a name reserved again to its latest job", () => {
    const outputs = new OutputNames();
    outputs.reserve("disk.qcow2", "job-a");
    outputs.reserve("disk.qcow2", "job-b");
    outputs.release("disk.qcow2", "job-a");
    assert.equal(outputs.isReserved("disk.qcow2"), true, "job-a no longer holds it");
  });

  it("frees every name at once, and keeps which jobs found their name taken", () => {
    const outputs = new OutputNames();
    outputs.reserve("a.qcow2", "job-a");
    outputs.reserve("b.qcow2", "job-b");
    outputs.markTaken("job-c");
    outputs.releaseAll();
    assert.equal(outputs.isReserved("a.qcow2"), false);
    assert.equal(outputs.isReserved("b.qcow2"), false);
    assert.equal(outputs.wasTaken("job-c"), true);
  });

  it("remembers only the jobs marked taken, apart from the names reserved", () => {
    const outputs = new OutputNames();
    outputs.reserve("disk.qcow2", "job-a");
    outputs.markTaken("job-b");
    assert.equal(outputs.wasTaken("job-a"), false);
    assert.equal(outputs.wasTaken("job-b"), true);
    assert.equal(outputs.isReserved("job-b"), false);
  });
});
