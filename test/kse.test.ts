/*
 * KSE in the kernel: every system call's errno paths, each upcall trigger
 * (kse_create, a blocking unbound thread, kse_wakeup of an idle KSE, an
 * unbound thread's return to user space) and the loan path.  The programs
 * here drive the system calls by hand, with tiny upcall functions in place
 * of a UTS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, SCHED_FIFO, type KEvent, type KseMailbox, type KseThrMailbox, type Sys } from '../src/index.ts';
import { errnoOf } from './helpers.ts';
import { psLines } from '../src/report/ps.ts';

type Ev = Extract<KEvent, { type: 'kse' }>;

function mailbox(func: KseMailbox['func'], udata: unknown = null): KseMailbox {
  return { curthread: null, completed: null, func, stack: null, flags: 0, udata, sigscaught: [] };
}
function thrMailbox(udata: unknown = null): KseThrMailbox {
  return { context: null, next: null, flags: 0, udata, uticks: 0, sticks: 0 };
}

/** Run main as pid 1 on a checked machine; returns the KSE events and the outcome. */
let M: Machine;
function run(main: (sys: Sys) => Generator<any, unknown, any>, opts: { ncpu?: number; seed?: number } = {}) {
  const m = (M = new Machine({ ncpu: opts.ncpu ?? 2, seed: opts.seed ?? 1 }));
  const evs: Ev[] = [];
  m.on((e) => { if (e.type === 'kse') evs.push(e); });
  const pid = m.spawn(main, { name: 'kse' });
  const r = m.run({ maxTicks: 200_000 });
  assert.equal(r.outcome, 'idle', r.panic ? `panic: ${r.panic.message}` : `outcome ${r.outcome}`);
  return { m, pid, evs, r };
}

/** An upcall that resumes the oldest completed context (the list is newest first), else releases its KSE. */
function* resumeOrRelease(sys: Sys, km: KseMailbox): Generator<any, void, any> {
  let c = km.completed;
  if (c !== null) {
    while (c.next !== null) c = c.next;
    km.completed = null;
    km.curthread = c;
    yield* sys.setcontext(c.context!);
  }
  yield* sys.kseRelease();
}

test('kse_create: EFAULT for a mailbox the kernel cannot read; the first call attaches, later ones upcall', () => {
  const out: Record<string, string> = {};
  let snapAfterFirst: unknown = null;
  const { evs } = run(function* (sys) {
    out.nullMbx = yield* errnoOf(sys.kseCreate(null as unknown as KseMailbox));
    out.noFunc = yield* errnoOf(sys.kseCreate({ curthread: null } as unknown as KseMailbox));
    out.first = yield* errnoOf(sys.kseCreate(mailbox(resumeOrRelease)));
    snapAfterFirst = M.kse(1)!.ksegrps.map((g) => ({ kses: g.kses, threads: g.numthreads }));
    out.second = yield* errnoOf(sys.kseCreate(mailbox(resumeOrRelease)));
    out.group = yield* errnoOf(sys.kseCreate(mailbox(resumeOrRelease), true));
    yield* sys.sleep(5);
    out.groups = String(M.kse(1)!.ksegrps.length);
  });
  assert.deepEqual(out, { nullMbx: 'EFAULT', noFunc: 'EFAULT', first: '', second: '', group: '', groups: '2' });
  assert.deepEqual(snapAfterFirst, [{ kses: 1, threads: 1 }]);
  const upcalls = evs.filter((e) => e.what === 'upcall' && e.detail === 'new kse');
  assert.equal(upcalls.length, 2, 'one upcall per new KSE, none for the first call');
  assert.deepEqual(upcalls.map((e) => e.kg), [0, 1], 'the newgroup KSE is in a new ksegrp');
});

test('kse_exit: EINVAL outside KSE mode and for an unbound caller; the only thread leaves KSE mode', () => {
  const out: Record<string, string> = {};
  run(function* (sys) {
    out.notKse = yield* errnoOf(sys.kseExit());
    const km = mailbox(resumeOrRelease);
    yield* sys.kseCreate(km);
    km.curthread = thrMailbox('main'); // unbound on the next call
    out.unbound = yield* errnoOf(sys.kseExit());
    km.curthread = null;
    out.last = yield* errnoOf(sys.kseExit());
    out.after = String(M.kse(1));
    out.again = yield* errnoOf(sys.kseExit());
  });
  assert.deepEqual(out, { notKse: 'EINVAL', unbound: 'EINVAL', last: '', after: 'null', again: 'EINVAL' });
});

test('kse_exit: EDEADLK for the last KSE of a group whose other thread sleeps', () => {
  const out: Record<string, string> = {};
  const { evs } = run(function* (sys) {
    const km = mailbox(function* (usys, kmb) {
      // The upcall made when main blocked: this group has one KSE and two threads.
      if (out.upcallExit === undefined) out.upcallExit = yield* errnoOf(usys.kseExit());
      yield* resumeOrRelease(usys, kmb);
    });
    yield* sys.kseCreate(km);
    km.curthread = thrMailbox('main');
    yield* sys.sleep(10); // unbound: upcall on our KSE as we block
    km.curthread = null;
    out.mainExit = yield* errnoOf(sys.kseExit());
  });
  assert.equal(out.upcallExit, 'EDEADLK');
  assert.equal(out.mainExit, '', 'once the upcall thread is gone main is alone and leaves KSE mode');
  assert.ok(evs.some((e) => e.what === 'upcall' && e.detail.startsWith('lent to')), 'the block made an upcall');
});

test('kse_exit of one KSE among several destroys it (KEF_EXIT), and its group with it', () => {
  const out: Record<string, unknown> = {};
  const { evs } = run(function* (sys) {
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    yield* sys.kseCreate(mailbox(function* (usys) { yield* usys.kseExit(); }), true);
    yield* sys.sleep(5);
    out.groups = M.kse(1)!.ksegrps.length;
    out.exit = yield* errnoOf(sys.kseExit());
  });
  assert.deepEqual(out, { groups: 1, exit: '' });
  assert.ok(evs.some((e) => e.what === 'exit' && e.kg === 1), 'the KSE of group 1 was destroyed');
});

test('kse_release: EINVAL outside KSE mode; in KSE mode its KSE goes idle', () => {
  const out: Record<string, unknown> = {};
  const { evs } = run(function* (sys) {
    out.notKse = yield* errnoOf(sys.kseRelease());
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    yield* sys.kseCreate(mailbox(resumeOrRelease)); // its upcall releases at once
    yield* sys.sleep(5);
    const g = M.kse(1)!.ksegrps[0]!;
    out.idle = g.idleKses;
    out.states = g.kseq.map((k) => k.state).sort();
  });
  assert.equal(out.notKse, 'EINVAL');
  assert.equal(out.idle, 1);
  assert.deepEqual(out.states, ['IDLE', 'UNQUEUED']);
  assert.ok(evs.some((e) => e.what === 'idle'));
});

test('kse_wakeup: EINVAL, ESRCH, a no-op on a busy KSE, an upcall on an idle one', () => {
  const out: Record<string, string> = {};
  const woken: string[] = [];
  const { evs } = run(function* (sys) {
    out.notKse = yield* errnoOf(sys.kseWakeup(null));
    const km0 = mailbox(resumeOrRelease, 'km0');
    const km1 = mailbox(function* (usys, km) { woken.push(String(km.udata)); yield* usys.kseRelease(); }, 'km1');
    yield* sys.kseCreate(km0);
    out.noIdle = yield* errnoOf(sys.kseWakeup(null)); // our own KSE is busy, no other
    out.unknown = yield* errnoOf(sys.kseWakeup(mailbox(resumeOrRelease)));
    out.busy = yield* errnoOf(sys.kseWakeup(km0));
    yield* sys.kseCreate(km1); // upcall 1, which releases: km1 idles
    yield* sys.sleep(5);
    out.idle = yield* errnoOf(sys.kseWakeup(km1)); // upcall 2
    yield* sys.sleep(5);
    out.anyIdle = yield* errnoOf(sys.kseWakeup(null)); // upcall 3
    yield* sys.sleep(5);
    out.bad = yield* errnoOf(sys.kseWakeup(7 as unknown as KseMailbox));
  });
  assert.deepEqual(out, { notKse: 'EINVAL', noIdle: 'ESRCH', unknown: 'ESRCH', busy: '', idle: '', anyIdle: '', bad: 'EFAULT' });
  assert.deepEqual(woken, ['km1', 'km1', 'km1']);
  assert.equal(evs.filter((e) => e.what === 'upcall' && e.detail === 'new kse').length, 3, 'kse_create once, kse_wakeup twice');
});

test('kse_thr_interrupt: ENOSYS, as in the seed', () => {
  const out: string[] = [];
  run(function* (sys) {
    out.push(yield* errnoOf(sys.kseThrInterrupt()));
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    out.push(yield* errnoOf(sys.kseThrInterrupt()));
  });
  assert.deepEqual(out, ['ENOSYS', 'ENOSYS']);
});

test('a blocking unbound thread gives its KSE to an upcall; on completion its context comes back on the completed list', () => {
  const log: string[] = [];
  const { evs } = run(function* (sys) {
    const tm = thrMailbox('main');
    const km = mailbox(function* (usys, kmb) {
      log.push(`upcall completed=${kmb.completed === null ? 'none' : String(kmb.completed.udata)}`);
      yield* resumeOrRelease(usys, kmb);
    });
    yield* sys.kseCreate(km);
    km.curthread = tm;
    const before = yield* sys.lwpSelf();
    yield* sys.sleep(10);
    km.curthread = null;
    const after = yield* sys.lwpSelf();
    log.push(`main resumed ${before === after ? 'on the same' : 'on another'} kernel thread, context ${tm.context!.frames.length === 0 ? 'taken' : 'left'}`);
  });
  // Every unbound call completes through the UTS: lwp_self's return exports
  // main and turns into an upcall at once (nothing blocked); the sleep blocks,
  // which makes an upcall from the standin (nothing completed yet); its
  // return finds the KSE idle and becomes the upcall that reports main.
  assert.deepEqual(log, ['upcall completed=main', 'upcall completed=none', 'upcall completed=main', 'main resumed on the same kernel thread, context taken']);
  assert.deepEqual(evs.filter((e) => e.what === 'upcall' || e.what === 'export').map((e) => `${e.what}:${e.detail}`),
    ['export:', 'upcall:start', 'upcall:lent to 1.1', 'upcall:start', 'export:', 'upcall:start']);
});

test('a bound thread blocks with its KSE: no upcall', () => {
  const { evs } = run(function* (sys) {
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    yield* sys.sleep(10); // km_curthread is null: bound
    yield* sys.kseExit();
  });
  assert.equal(evs.filter((e) => e.what === 'upcall').length, 0);
});

test('loan: a bound thread returning to user space lends its KSE to a waiting thread and gets it back', () => {
  const log: string[] = [];
  const { evs } = run(function* (sys) {
    const tm = thrMailbox('main');
    let upcalls = 0;
    const km = mailbox(function* (usys, kmb) {
      upcalls++;
      if (kmb.completed !== null) yield* resumeOrRelease(usys, kmb);
      if (upcalls === 1) {
        // The UTS keeps its KSE busy with bound calls while main's sleep ends:
        // main waits on kg_runq, and the next return to user lends it the KSE.
        for (let i = 0; i < 30; i++) yield* usys.getpid();
        log.push('uts done');
        kmb.curthread = thrMailbox('poll');
        yield* usys.getpid(); // unbound: returns as an upcall with the completed list
      }
      yield* usys.kseRelease();
    });
    yield* sys.kseCreate(km);
    km.curthread = tm;
    yield* sys.sleep(5);
    km.curthread = null;
    log.push('main back');
  }, { ncpu: 1 });
  const seq = evs.map((e) => e.what);
  const loan = seq.indexOf('loan');
  assert.ok(loan >= 0, `no loan in ${seq.join(' ')}`);
  const lent = evs.find((e) => e.what === 'assign' && e.detail.startsWith('lent by'));
  assert.ok(lent !== undefined, 'the waiting thread got the KSE as a loan');
  assert.equal(lent.lid, 1, 'main (1.1) borrowed it');
  // The borrower's return to user space exports its context and exits; the KSE goes back to its owner.
  const ret = seq.indexOf('return', loan);
  assert.ok(ret > loan && seq.slice(loan, ret).includes('export'), `loan, export, return expected in ${seq.join(' ')}`);
  assert.deepEqual(log, ['uts done', 'main back']);
});

test('m.kse, show proc, show lwp and ps show the KSE state', () => {
  const seen: { snap: ReturnType<Machine['kse']> } = { snap: null };
  let shownProc = '';
  let shownLwp = '';
  let stat = '';
  run(function* (sys) {
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    yield* sys.kseCreate(mailbox(resumeOrRelease)); // its upcall releases: the KSE idles
    yield* sys.sleep(5);
    seen.snap = M.kse(1);
    shownProc = M.show.proc(1);
    shownLwp = M.show.lwp(1, 1);
    stat = psLines(M).find((r) => r.pid === 1 && r.lid === 1)!.stat;
    yield* sys.kseExit();
    stat += ` ${psLines(M).find((r) => r.pid === 1 && r.lid === 1)!.stat}`;
  });
  const s = seen.snap;
  assert.ok(s !== null);
  assert.equal(s.kses, true);
  assert.equal(s.ksegrps.length, 1);
  const g = s.ksegrps[0]!;
  assert.deepEqual([g.kses, g.idleKses, g.numthreads], [2, 1, 1]);
  assert.deepEqual(g.kseq.map((k) => [k.state, k.thread]).sort(), [['IDLE', null], ['UNQUEUED', '1.1']]);
  assert.match(shownProc, /P_KSES set, 1 ksegrp\(s\)/);
  assert.match(shownProc, /kse 0\.\d: IDLE, thread -/);
  assert.match(shownLwp, /ksegrp 0, kse 0\.0, bound/);
  assert.equal(stat, 'OM O', 'M marks a thread of a KSE-mode process, until it leaves KSE mode');
});

test('an upcall (UTS) that throws kills only its process, as any user fault', () => {
  const m = new Machine({ ncpu: 2, seed: 1 });
  const pid = m.spawn(function* (sys: Sys) {
    yield* sys.kseCreate(mailbox(resumeOrRelease));
    yield* sys.kseCreate(mailbox(function* () { throw new Error('uts bug'); }));
    yield* sys.sleep(20);
  }, { name: 'kse' });
  const other = m.spawn(function* (sys: Sys) { yield* sys.sleep(30); }, { name: 'bystander' });
  const r = m.run({ maxTicks: 10_000 });
  assert.equal(r.outcome, 'idle', r.panic?.message);
  assert.match(m.proc(pid)!.fault ?? '', /uts bug/);
  assert.equal(m.proc(other)!.exitStatus, 0);
});

test('the checker catches broken KSE invariants', () => {
  const cases: [string, (p: NonNullable<ReturnType<typeof procOf>>) => void, RegExp][] = [
    ['counter', (p) => { p.kse!.ksegrps[0]!.idleKses++; }, /kg_idle_kses 1 != 0/],
    ['state', (p) => { p.kse!.ksegrps[0]!.kseq[0]!.state = 1; }, /is not on kg_iq/],
    ['loan', (p) => { const g = p.kse!.ksegrps[0]!; g.kseq[0]!.bound = p.lwps; g.lq.push(g.kseq[0]!); g.loanKses++; }, /does not carry LOAN/],
    ['last assigned', (p) => { const g = p.kse!.ksegrps[0]!; g.lastAssigned = p.lwps; }, /kg_last_assigned .* is not on kg_runq/],
  ];
  for (const [what, corrupt, msg] of cases) {
    const m = new Machine({ ncpu: 1, seed: 1 });
    m.spawn(function* (sys: Sys) {
      yield* sys.kseCreate(mailbox(resumeOrRelease));
      corrupt(procOf(m)!);
      yield* sys.getpid();
    }, { name: 'kse' });
    const r = m.run({ maxTicks: 1000 });
    assert.equal(r.outcome, 'panic', what);
    assert.match(r.panic!.message, msg, what);
  }
});

function procOf(m: Machine) {
  return m.kernel.procs.get(1);
}

test('KSE assignment: a better thread takes kg_last_assigned\'s KSE; the loser waits without one', () => {
  // One KSE, one CPU.  main sleeps (unbound), then the upcall thread raises
  // its own priority and sleeps too; a real-time hog in another process
  // keeps the CPU, so main wakes into the idle KSE but stays queued.  When
  // the better upcall thread wakes it steals main's KSE; main waits on
  // kg_runq, and later borrows the KSE from it.
  const m = new Machine({ ncpu: 1, seed: 1 });
  const evs: Ev[] = [];
  m.on((e) => { if (e.type === 'kse' && e.pid === 1) evs.push(e); });
  let n = 0;
  m.spawn(function* (sys: Sys) {
    const km = mailbox(function* (usys, kmb) {
      if (++n === 1) {
        yield* usys.schedSetparam(yield* usys.lwpSelf(), SCHED_FIFO, 10);
        kmb.curthread = thrMailbox('second');
        yield* usys.sleep(20);
        kmb.curthread = null;
      }
      yield* resumeOrRelease(usys, kmb);
    });
    yield* sys.kseCreate(km);
    km.curthread = thrMailbox('main');
    yield* sys.sleep(12);
    km.curthread = null;
  }, { name: 'kse' });
  m.spawn(function* (sys: Sys) {
    yield* sys.schedSetparam(0, SCHED_FIFO, 50);
    yield* sys.sleep(5);
    yield* sys.compute(40);
  }, { name: 'hog' });
  const r = m.run({ maxTicks: 10_000 });
  assert.equal(r.outcome, 'idle', r.panic?.message);
  const seq = evs.map((e) => `${e.what}:${e.lid}${e.detail ? `:${e.detail}` : ''}`);
  const steal = seq.indexOf('steal:2:from 1.1');
  assert.ok(steal > 0, seq.join(' '));
  assert.equal(seq[steal - 1], 'assign:1', 'main had been given the idle KSE first');
  assert.equal(seq[steal + 1], 'assign:2');
  const rest = seq.slice(steal + 2);
  assert.deepEqual(rest.slice(0, 4), ['export:2', 'loan:2', 'assign:1:lent by 1.2', 'export:1'], 'the winner runs first, then lends the KSE to main');
});
