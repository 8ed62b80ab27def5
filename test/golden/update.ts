/* npm run golden [-- --update]: compare the golden hashes, or rewrite them. */
import { writeFileSync } from 'node:fs';
import { HASHES_FILE, computeGolden, loadGolden } from './golden.ts';

const now = await computeGolden();
if (process.argv.includes('--update')) {
  writeFileSync(HASHES_FILE, JSON.stringify(now, null, 1) + '\n');
  console.log(`wrote ${Object.keys(now).length} hashes to ${HASHES_FILE}`);
} else {
  const old = loadGolden();
  const moved = Object.keys({ ...old, ...now }).filter((k) => old[k] !== now[k]);
  for (const k of moved) console.log(`moved: ${k}  ${old[k] ?? '(new)'} -> ${now[k] ?? '(gone)'}`);
  console.log(`${Object.keys(now).length - moved.length} of ${Object.keys(now).length} golden hashes match`);
  process.exitCode = moved.length === 0 ? 0 : 1;
}
