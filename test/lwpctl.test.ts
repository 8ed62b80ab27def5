/* _lwp_ctl: the errno paths, what the kernel keeps current in a block, and lwp_ctl_alloc/free/exit's allocator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LWPCTL_CPU_EXITED, LWPCTL_CPU_NONE, LWPCTL_FEATURE_CURCPU, LWPCTL_FEATURE_PCTR, Machine, type LwpCtl, type Sys,
} from '../src/index.ts';
import type { Gen } from '../src/engine/coroutine.ts';
import type { Lwp } from '../src/kern/h/lwp.ts';
import { PL_PPWAIT } from '../src/kern/param.ts';
import { lwpctlGeometry, setLwpctlGeometry } from '../src/kern/lwpctl.ts';
import { LWPCTL_PER_PAGE, LWPCTL_UAREA_PAGES } from '../src/kern/h/lwpctl.ts';
import { assertIdle, errnoOf, runMain } from './helpers.ts';
import { lwpOf } from './inspect.ts';

test('lwpCtl: ENODEV for unknown feature bits, EINVAL for a value C cannot pass; a second call returns the same block', () => {
  const { r, out } = runMain(function* (sys, o: { codes: string[]; same?: boolean; cpu?: boolean }) {
    for (const f of [4, 0x100, -1, 0x80000000]) o.codes.push(yield* errnoOf(sys.lwpCtl(f)));
    o.codes.push(yield* errnoOf(sys.lwpCtl(1.5)));
    const a = yield* sys.lwpCtl(LWPCTL_FEATURE_CURCPU);
    const b = yield* sys.lwpCtl(LWPCTL_FEATURE_CURCPU | LWPCTL_FEATURE_PCTR);
    const c = yield* sys.lwpCtl(0);
    o.same = a === b && b === c;
    o.cpu = a.curcpu === lwpOf(sys).k.curcpu()!.index;
  }, { codes: [] as string[] });
  assertIdle(r);
  assert.deepEqual(out.codes, ['ENODEV', 'ENODEV', 'ENODEV', 'EINVAL', 'EINVAL']);
  assert.equal(out.same, true);
  assert.equal(out.cpu, true);
});

test('the constants have NetBSD\'s values', () => {
  assert.deepEqual([LWPCTL_CPU_NONE, LWPCTL_CPU_EXITED, LWPCTL_FEATURE_CURCPU, LWPCTL_FEATURE_PCTR], [-1, -2, 1, 2]);
  assert.deepEqual([LWPCTL_PER_PAGE, LWPCTL_UAREA_PAGES], [512, 16]);
});

test('curcpu: the CPU while running (after every switch, on any CPU), NONE off CPU, EXITED after exit', () => {
  for (let seed = 1; seed <= 6; seed++) {
    const m = new Machine({ ncpu: 3, seed, quantum: 20 });
    const k = m.kernel;
    const bad: string[] = [];
    const blocks: LwpCtl[] = [];
    const seenOff: number[] = [];
    m.spawn(function* (sys: Sys) {
      const worker = function* (s: Sys) {
        const ctl = yield* s.lwpCtl(LWPCTL_FEATURE_CURCPU);
        blocks.push(ctl);
        for (let i = 0; i < 20; i++) {
          if (i % 3 === 0) yield* s.schedYield(); else if (i % 3 === 1) yield* s.sleep(3); else yield* s.compute(30);
          if (ctl.curcpu !== k.curcpu()!.index) bad.push(`seed ${seed}: curcpu ${ctl.curcpu} on cpu${k.curcpu()!.index}`);
        }
      };
      const lids: number[] = [];
      for (let i = 0; i < 5; i++) lids.push(yield* sys.lwpCreate(worker));
      for (let i = 0; i < 40; i++) {
        yield* sys.compute(7);
        // Whoever is not running right now reads NONE.
        for (const lid of lids) {
          const t = lwpOf(sys).proc.lidMap.get(lid);
          if (t?.lwpctl && t.k.cpus.every((ci) => ci.curlwp !== t)) {
            if (t.lwpctl.curcpu !== LWPCTL_CPU_NONE && t.lwpctl.curcpu !== LWPCTL_CPU_EXITED) bad.push(`seed ${seed}: ${lid} off cpu reads ${t.lwpctl.curcpu}`);
            seenOff.push(lid);
          }
        }
      }
      for (const lid of lids) yield* sys.lwpWait(lid);
    });
    assertIdle(m.run());
    assert.deepEqual(bad, []);
    assert.ok(seenOff.length > 0);
    assert.equal(blocks.length, 5);
  }
  // A zombie reads EXITED.
  const { r, out } = runMain(function* (sys, o: { ctl?: LwpCtl; z?: number }) {
    const t = yield* sys.lwpCreate(function* (s: Sys) { o.ctl = yield* s.lwpCtl(1); });
    yield* sys.compute(100);
    o.z = o.ctl!.curcpu;
    yield* sys.lwpWait(t);
  }, {});
  assertIdle(r);
  assert.equal(out.z, LWPCTL_CPU_EXITED);
});

test('pctr counts switches in; lwpPctr counts switches away (l_ncsw)', () => {
  const m = new Machine({ ncpu: 1 });
  const o: { pctr?: number; ncsw?: number; alone?: number; before?: number } = {};
  m.spawn(function* (sys: Sys) {
    const ctl = yield* sys.lwpCtl(LWPCTL_FEATURE_PCTR);
    o.before = yield* sys.lwpPctr();
    yield* sys.lwpCreate(function* (s: Sys) { for (let i = 0; i < 5; i++) yield* s.schedYield(); });
    for (let i = 0; i < 5; i++) yield* sys.schedYield(); // each one hands the CPU over and gets it back
    o.pctr = ctl.pctr;
    o.ncsw = yield* sys.lwpPctr();
    yield* sys.lwpWait(0);
    const n0 = yield* sys.lwpPctr();
    for (let i = 0; i < 3; i++) yield* sys.schedYield(); // nobody else: no switch
    o.alone = (yield* sys.lwpPctr()) - n0;
  });
  assertIdle(m.run());
  assert.equal(o.before, 0);
  assert.ok(o.pctr! >= 5, `pctr ${o.pctr}`);
  assert.equal(o.ncsw, o.pctr, 'every switch away was followed by a switch back in');
  assert.equal(o.alone, 0);
});

/** A worker that takes a block, reports where it is, and parks until told to go. */
function* holder(s: Sys, rep: (l: Lwp, ctl: LwpCtl | string) => void): Gen<void> {
  let ctl: LwpCtl | string;
  try { ctl = yield* s.lwpCtl(1); } catch (e) { ctl = (e as { code: string }).code; }
  rep(lwpOf(s), ctl);
  // Unparked ('') or an unpark that came first (EALREADY): either way, go.
  for (let c = ''; (c = yield* errnoOf(s.lwpPark())) !== '' && c !== 'EALREADY';);
}

interface Slot { page: number; off: number }
function slotOf(l: Lwp): Slot {
  return { page: l.lcpage!.uaddr, off: l.lcpage!.blocks.indexOf(l.lwpctl!) };
}

test('allocation: blocks in order, ENOMEM when the area is full, a collected LWP\'s block is reused (a zombie keeps its own)', () => {
  const m = new Machine({ ncpu: 2, seed: 2 });
  setLwpctlGeometry(m.kernel, { perPage: 64, pages: 2 });
  assert.deepEqual(lwpctlGeometry(m.kernel), { perPage: 64, pages: 2 });
  const got = new Map<number, LwpCtl | string>();
  const slots = new Map<number, Slot>();
  const o: { full?: string; zfull?: string; reused?: boolean; slot?: Slot; victimSlot?: Slot } = {};
  m.spawn(function* (sys: Sys) {
    const rep = (l: Lwp, c: LwpCtl | string) => { got.set(l.lid, c); if (typeof c !== 'string') slots.set(l.lid, slotOf(l)); };
    const lids: number[] = [];
    for (let i = 0; i < 128; i++) lids.push(yield* sys.lwpCreate(holder, rep));
    for (const lid of lids) while (!got.has(lid)) yield* sys.compute(5);
    const extra = yield* sys.lwpCreate(holder, rep);
    while (!got.has(extra)) yield* sys.compute(5);
    o.full = got.get(extra) as string;
    // Let one holder exit: as a zombie it still holds its block.
    const victim = lids[70]!;
    o.victimSlot = slots.get(victim);
    yield* sys.lwpUnpark(victim);
    while (lwpOf(sys).proc.lidMap.get(victim)!.stat !== 5) yield* sys.compute(5);
    yield* sys.lwpUnpark(extra);
    yield* sys.lwpWait(extra);
    const again = yield* sys.lwpCreate(holder, rep);
    while (!got.has(again)) yield* sys.compute(5);
    o.zfull = got.get(again) as string;
    yield* sys.lwpUnpark(again);
    yield* sys.lwpWait(again);
    // Collected: its block goes back, and the next taker gets the same object.
    yield* sys.lwpWait(victim);
    const next = yield* sys.lwpCreate(holder, rep);
    while (!got.has(next)) yield* sys.compute(5);
    o.reused = got.get(next) === got.get(victim);
    o.slot = slots.get(next);
    yield* sys.exit(0);
  });
  assertIdle(m.run());
  // The first page fills up, then the second: every block of both handed out once.
  const order = [...slots.values()].slice(0, 128);
  const pages = [...new Set(order.map((s) => s.page))];
  assert.equal(pages.length, 2);
  for (const pg of pages) {
    assert.deepEqual(order.filter((s) => s.page === pg).map((s) => s.off).sort((a, b) => a - b), [...Array(64).keys()]);
  }
  assert.ok(order.slice(0, 64).every((s) => s.page === pages[0]), 'the second page is wired only once the first is full');
  assert.equal(o.full, 'ENOMEM');
  assert.equal(o.zfull, 'ENOMEM', 'a zombie keeps its block until it is collected');
  assert.equal(o.reused, true);
  assert.deepEqual(o.slot, o.victimSlot);
});

test('lwp_ctl_free: the rotor moves to a freed word when its own is full; a page with room moves to the head when the head is full', () => {
  const m = new Machine({ ncpu: 2, seed: 5 });
  setLwpctlGeometry(m.kernel, { perPage: 96, pages: 3 }); // three bitmap words a page
  const slots = new Map<number, Slot>();
  const o: Partial<Record<'a' | 'b' | 'c' | 'd', Slot>> = {};
  m.spawn(function* (sys: Sys) {
    const rep = (l: Lwp) => { slots.set(l.lid, slotOf(l)); };
    const take = function* (): Gen<number> {
      const lid = yield* sys.lwpCreate(holder, rep);
      while (!slots.has(lid)) yield* sys.compute(5);
      return lid;
    };
    const release = function* (lid: number): Gen<void> {
      yield* sys.lwpUnpark(lid);
      yield* sys.lwpWait(lid);
    };
    const a: number[] = [];
    for (let i = 0; i < 96; i++) a.push(yield* take()); // page A full; its rotor on word 2
    for (let i = 0; i < 10; i++) yield* take();          // page B, now at the head
    yield* release(a[40]!); // word 1; A's rotor word is full, so the rotor moves to word 1
    yield* release(a[5]!);  // word 0; the rotor's word has room now: it stays on word 1
    o.a = slots.get(yield* take()); // B is the head and has room: B's block 10
    for (let i = 0; i < 85; i++) yield* take(); // B full
    yield* release(a[70]!); // the head (B) is full: A moves to the head
    o.b = slots.get(yield* take()); // from A's rotor (word 1): 40, not the lowest free block
    o.c = slots.get(yield* take()); // word 1 empty: on to word 2: 70
    o.d = slots.get(yield* take()); // word 2 empty: wrap to word 0: 5
    yield* sys.exit(0);
  });
  assertIdle(m.run());
  const pageA = slots.get(2)!.page;
  const pageB = slots.get(2 + 96)!.page;
  assert.notEqual(pageA, pageB);
  assert.deepEqual(o.a, { page: pageB, off: 10 });
  assert.deepEqual([o.b, o.c, o.d], [{ page: pageA, off: 40 }, { page: pageA, off: 70 }, { page: pageA, off: 5 }]);
});

test('lwp_ctl_exit: the process\'s whole area goes when it exits; LWPs freed on the way give their blocks back first', () => {
  const { r, m, pid } = runMain(function* (sys) {
    yield* sys.lwpCtl(1);
    for (let i = 0; i < 5; i++) yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpCtl(1); yield* s.lwpPark(); });
    yield* sys.compute(200);
    yield* sys.exit(3);
  }, {}, { ncpu: 4 });
  assertIdle(r);
  const p = m.kernel.procs.get(pid)!;
  assert.equal(p.lwpctl, null);
  assert.equal(p.lastlwp!.lwpctl, null);
  assert.equal(m.proc(pid)!.exitStatus, 3);
});

test('EBUSY in a vfork child (PL_PPWAIT, which nothing in the model sets: forced here), and lwp_ctl_free then only forgets the block', () => {
  const { r, out } = runMain(function* (sys, o: { a?: string; b?: string; freed?: boolean }) {
    const p = lwpOf(sys).proc;
    const t = yield* sys.lwpCreate(function* (s: Sys) { yield* s.lwpCtl(1); });
    yield* sys.compute(100);
    p.lflag |= PL_PPWAIT;
    o.a = yield* errnoOf(sys.lwpCtl(1));
    const tl = p.lidMap.get(t)!;
    yield* sys.lwpWait(t);
    o.freed = tl.lwpctl === null && p.lwpctl!.pages[0]!.nfree === p.lwpctl!.pages[0]!.perPage - 1;
    p.lflag &= ~PL_PPWAIT;
    o.b = yield* errnoOf(sys.lwpCtl(1));
  }, {});
  assertIdle(r);
  assert.equal(out.a, 'EBUSY');
  assert.equal(out.freed, true, 'the block was forgotten, not given back');
  assert.equal(out.b, '');
});

test('two LWPs asking at the same time on many CPUs get distinct blocks', () => {
  let overlapped = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const m = new Machine({ ncpu: 8, seed });
    const blocks: LwpCtl[] = [];
    let inflight = 0;
    let most = 0;
    m.on((e) => {
      if (e.type === 'syscall' && e.name === '_lwp_ctl') most = Math.max(most, ++inflight);
      if (e.type === 'sysret' && e.name === '_lwp_ctl') inflight--;
    });
    m.spawn(function* (sys: Sys) {
      for (let i = 0; i < 12; i++) yield* sys.lwpCreate(function* (s: Sys) { blocks.push(yield* s.lwpCtl(1)); yield* s.sleep(50); });
      for (let i = 0; i < 12; i++) yield* sys.lwpWait(0);
    });
    assertIdle(m.run());
    assert.equal(new Set(blocks).size, 12);
    if (most >= 2) overlapped++;
  }
  assert.ok(overlapped > 0, 'no schedule had two _lwp_ctl calls under way at once');
});
