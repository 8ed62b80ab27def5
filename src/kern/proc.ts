/*
 * Booting the kernel and creating processes (the parts of init_main.c,
 * kern_fork.c and kern_kthread.c the model needs).
 *
 * proc0 is the kernel's own process: it holds each CPU's idle LWP and
 * kernel threads, and is exempt from the per-process counter rules, as
 * the seed's "special cases" for kernel threads allow.
 */
import { runDetached, type Gen } from '../engine/coroutine.ts';
import type { Cpu, EngineHooks } from '../engine/engine.ts';
import { CpuInfo } from './h/cpu.ts';
import type { Kernel } from './h/kernel.ts';
import { Lwp, type LwpStart, type Program } from './h/lwp.ts';
import { Proc } from './h/proc.ts';
import { lwpLock, lwpUnlock, mutexEnter, mutexExit } from './mutex.ts';
import {
  LP_RUNNING, LSONPROC, LSRUN, LW_IDLE, LW_SYSTEM, PRI_IDLE, PRI_KTHREAD, PRI_USER_DEFAULT, SACTIVE, SIDL,
} from './param.ts';
import type { RunQueue } from './h/runq.ts';
import { lwpCreate } from './lwp.ts';
import { astTrap, idleLoop, schedEnqueueRunnable, schedTick } from './synch.ts';
import { resourceInit } from './resource.ts';
import { kpreemptPoint, kthreadCreate as lwktKthreadCreate, lwktInit } from './lwkt.ts';

/** Create proc0 and the CPUs, each running its idle LWP. */
export function kernBoot(k: Kernel, ncpu: number, runq: () => RunQueue): void {
  const p0 = new Proc(k, 0, 'system', 0, null, true);
  k.proc0 = p0;
  k.procs.set(0, p0);
  for (let i = 0; i < ncpu; i++) {
    const ci = new CpuInfo(k, i, runq());
    k.cpus.push(ci);
    const idle = new Lwp(k, p0, i + 1, ci, PRI_IDLE, `idle/${i}`, (l) => k.engine.newThread(`idle/${i}`, idleLoop(ci)));
    idle.flag = LW_IDLE | LW_SYSTEM;
    idle.pflag = LP_RUNNING;
    idle.mutex = ci.spcLwplock;
    ci.idlelwp = ci.curlwp = idle;
    k.setStat(idle, LSONPROC, 'boot');
    ci.hw = k.engine.addCpu(idle.td);
    p0.lwpInsert(idle);
    k.alllwp.add(idle);
  }
  p0.nlwpid = ncpu;
  // Most machines never read a sysctl: the nodes (a closure or two each) are registered at first use.
  k.sysctl.defer(sysctlInit, k);
  k.engine.hooks = new KernHooks(k);
}

/** The boot-time sysctl nodes, registered when the tree is first used. */
function sysctlInit(k: Kernel): void {
  k.sysctl.add({ name: 'kern.nswtch', description: 'Context switches on all CPUs', get: () => k.cpus.reduce((n, ci) => n + ci.nswtch, 0) });
  k.sysctl.add({ name: 'hw.ncpu', description: 'Number of CPUs', get: () => k.cpus.length });
  resourceInit(k); // kern.maxlwp, kern.threads.max_per_proc (resourceState makes limit0 at first use)
  lwktInit(k);      // lwkt.switch_count, lwkt.preempt_*, lwkt.untimely_switch
}

/**
 * The traps the hardware takes into the kernel: the clock at the end of a
 * slice, an AST, a kernel preemption point.  Methods, not an object of
 * arrows: esbuild's keepNames names each arrow (a defineProperty) on every
 * boot.  (The one closure, for the kpreempt option, stays a named one: an
 * unnamed closure stored in the engine kept dead machines reachable through
 * scavenges, test/machine-gc.test.ts.)
 */
function kpreemptHook(k: Kernel): (cpu: Cpu) => Gen<unknown> | null {
  const onKpreempt = (cpu: Cpu) => kpreemptPoint(k.cpus[cpu.index]!);
  return onKpreempt;
}

class KernHooks implements EngineHooks {
  readonly onKpreempt: ((cpu: Cpu) => Gen<unknown> | null) | null;
  constructor(private readonly k: Kernel) {
    this.onKpreempt = k.kpreempt ? kpreemptHook(k) : null;
  }
  onQuantum(cpu: Cpu): Gen<unknown> | null {
    return schedTick(this.k.cpus[cpu.index]!);
  }
  onAst(cpu: Cpu): Gen<unknown> {
    return astTrap(this.k.cpus[cpu.index]!);
  }
}

export interface SpawnOptions {
  name: string;
  uid: number;
}

/**
 * fork1 for a fresh program: a new process with one LWP running
 * `start`, made runnable.  l1 is the creating LWP (curlwp), or an idle LWP
 * of proc0 when the machine itself spawns.  Returns the process.
 */
export function* procSpawn(l1: Lwp, parent: Proc | null, start: LwpStart, opts: SpawnOptions): Gen<Proc> {
  const k = l1.k;
  yield* mutexEnter(k, k.procLock);
  const p = new Proc(k, k.nextpid++, opts.name, opts.uid, parent);
  p.stat = SIDL;
  k.procs.set(p.pid, p);
  if (parent !== null) parent.children.add(p);
  mutexExit(k, k.procLock);
  if (k.tracing) k.emitFor(l1, { type: 'proc', what: 'spawn', detail: `pid ${p.pid} ${opts.name}` });

  const l2 = yield* lwpCreate(l1, p, 0, start, null);
  if (l1.proc === k.proc0) l2.priority = PRI_USER_DEFAULT;

  yield* mutexEnter(k, p.lock);
  yield* lwpLock(l2);
  p.stat = SACTIVE;
  if (!k.personality.createCountsNrlwps) p.nrlwps++;
  k.setStat(l2, LSRUN, 'fork');
  schedEnqueueRunnable(l2);
  lwpUnlock(l2);
  mutexExit(k, p.lock);
  return p;
}

/** Spawn from the host, between runs: the creation runs to completion at once. */
export function spawnFromHost(k: Kernel, fn: Program, arg: unknown, opts: SpawnOptions): Proc {
  return runDetached(procSpawn(k.cpus[0]!.idlelwp, null, { fn, arg }, opts));
}

/**
 * kthread_create: a kernel thread in proc0 running a kernel path, made
 * runnable at once on the caller's CPU and bound there.  Called by curlwp
 * (or from the host, with an idle LWP as l1).  It is DragonFly's
 * kthread_create (lwkt.ts): its structure comes from the CPU's cache of
 * freed kernel threads when there is one, and goes back there on exit.
 */
export function kthreadCreate(l1: Lwp, name: string, body: (l: Lwp) => Gen<unknown>, pri = PRI_KTHREAD): Gen<Lwp> {
  return lwktKthreadCreate(l1, name, body, pri);
}
