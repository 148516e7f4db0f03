// Each package's `prepack`: what a tarball ships is built first (dist/, the widget's cdn/ and
// custom-elements.json are build output, not in git), and the repository's LICENSE goes in with it.
// Run by npm in the package's folder, from `npm pack` or `npm publish` there or with `-w`.
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The root build covers every package (tsc -b is incremental: a second package's prepack is quick).
execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
copyFileSync(join(root, 'LICENSE'), join(process.cwd(), 'LICENSE'));
if (process.env.npm_package_name === '@beckon/widget') {
  execFileSync(process.execPath, [join(root, 'scripts/cdn-integrity.mjs')], { cwd: root, stdio: 'inherit' });
}
