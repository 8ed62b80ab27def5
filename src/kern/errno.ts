/*
 * NetBSD's errno numbers (sys/errno.h), and the kernel-internal pseudo
 * errors.  Kernel functions return these as numbers, as C does; the
 * system-call layer turns a non-zero one into a thrown SyscallError.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const ENOEXEC = 8;
export const ECHILD = 10;
export const EDEADLK = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const EAGAIN = 35;
export const EALREADY = 37;
export const ETIMEDOUT = 60;
export const ENAMETOOLONG = 63;
export const EPROCLIM = 67;
export const ENOSYS = 78;
/** Restart the system call (never reaches user code). */
export const ERESTART = -3;
/** Return to user without touching its registers (never reaches user code). */
export const EJUSTRETURN = -2;
/** tsleep's timeout error: EAGAIN under another name. */
export const EWOULDBLOCK = EAGAIN;

const NAMES: Record<number, [string, string]> = {
  [EPERM]: ['EPERM', 'Operation not permitted'],
  [ENOENT]: ['ENOENT', 'No such file or directory'],
  [ESRCH]: ['ESRCH', 'No such process'],
  [EINTR]: ['EINTR', 'Interrupted system call'],
  [ENOEXEC]: ['ENOEXEC', 'Exec format error'],
  [ECHILD]: ['ECHILD', 'No child processes'],
  [EDEADLK]: ['EDEADLK', 'Resource deadlock avoided'],
  [ENOMEM]: ['ENOMEM', 'Cannot allocate memory'],
  [EFAULT]: ['EFAULT', 'Bad address'],
  [EBUSY]: ['EBUSY', 'Device busy'],
  [ENODEV]: ['ENODEV', 'Operation not supported by device'],
  [EINVAL]: ['EINVAL', 'Invalid argument'],
  [EAGAIN]: ['EAGAIN', 'Resource temporarily unavailable'],
  [EALREADY]: ['EALREADY', 'Operation already in progress'],
  [ETIMEDOUT]: ['ETIMEDOUT', 'Connection timed out'],
  [ENAMETOOLONG]: ['ENAMETOOLONG', 'File name too long'],
  [EPROCLIM]: ['EPROCLIM', 'Too many processes'],
  [ENOSYS]: ['ENOSYS', 'Function not implemented'],
  [ERESTART]: ['ERESTART', 'Restart system call'],
  [EJUSTRETURN]: ['EJUSTRETURN', 'Return without touching registers'],
};

export function errnoName(e: number): string {
  return NAMES[e]?.[0] ?? `E${e}`;
}
export function strerror(e: number): string {
  return NAMES[e]?.[1] ?? `Unknown error: ${e}`;
}
