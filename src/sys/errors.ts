/*
 * SyscallError: what a failed system call throws into the user program,
 * with Node's conventions (code, errno, syscall).
 */
import { errnoName, strerror } from '../kern/errno.ts';

export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  /** Symbolic name: 'ESRCH', 'EDEADLK', ... */
  readonly code: string;
  /** NetBSD's errno number. */
  readonly errno: number;
  /** The system call that failed: '_lwp_wait', ... */
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    super(`${syscall}: ${errnoName(errno)} (${strerror(errno)})${detail ? `: ${detail}` : ''}`);
    this.code = errnoName(errno);
    this.errno = errno;
    this.syscall = syscall;
  }
}
