/* sysctl: reading, writing, and the errors for unknown names, read-only nodes and bad values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SyscallError, type Sys } from '../src/index.ts';

test('read-only counters read, refuse writes with EPERM; unknown names are ENOENT', () => {
  const m = new Machine({ ncpu: 3 });
  assert.equal(m.sysctl('hw.ncpu'), 3);
  m.spawn(function* (sys: Sys) { yield* sys.lwpCreate(function* (s: Sys) { yield* s.schedYield(); }); yield* sys.lwpWait(0); });
  m.run();
  assert.ok(m.sysctl('kern.nswtch') > 0);
  assert.throws(() => m.sysctl('hw.ncpu', 8), (e: unknown) => e instanceof SyscallError && e.code === 'EPERM');
  assert.throws(() => m.sysctl('kern.nosuch'), (e: unknown) => e instanceof SyscallError && e.code === 'ENOENT');
  const names = m.sysctls().map((n) => n.name);
  assert.ok(names.includes('hw.ncpu') && names.includes('kern.nswtch'));
  assert.deepEqual(names, [...names].sort(), 'listed by name');
});

test('a writable node validates its value', () => {
  const m = new Machine({ ncpu: 1 });
  let v = 5;
  m.kernel.sysctl.add({ name: 'test.knob', description: 'a test knob', get: () => v, set: (x) => (x < 0 ? 22 : ((v = x), 0)) });
  assert.equal(m.sysctl('test.knob', 9), 9);
  assert.throws(() => m.sysctl('test.knob', -1), /sysctl: EINVAL .*test\.knob=-1/);
  assert.throws(() => m.sysctl('test.knob', 1.5), /EINVAL/);
  assert.equal(m.sysctl('test.knob'), 9);
});
