import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

/**
 * The documentation kept honest: docs/widget.md is what scripts/widget-docs.mjs generates from the
 * built custom-elements.json (and so are the widget's framework typings and editor data), the API parts of docs/ns-client.md are what scripts/ns-client-docs.mjs
 * generates from the TSDoc in packages/ns-client/src/, every relative link in docs/*.md and the root
 * README leads to a file (and heading) that exists, docs/README.md indexes every page, and
 * docs/ns-client.md names every export of @beckon/ns-client.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface WidgetDocsScript {
  renderWidgetDocs(): string;
  OUTPUT_PATH: string;
}

interface NsClientDocsScript {
  renderNsClientDocs(page?: string): string;
  OUTPUT_PATH: string;
}

// Plain .mjs scripts outside this TypeScript project: imported by URL, so the compiler leaves them alone.
const widgetDocsScript = new URL('../../../scripts/widget-docs.mjs', import.meta.url);
const nsClientDocsScript = new URL('../../../scripts/ns-client-docs.mjs', import.meta.url);

/** Where two texts first differ, for a message that points at the stale line. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const have = actual.split('\n');
  const line = want.findIndex((text, index) => text !== have[index]);
  const at = line === -1 ? want.length : line;
  return `line ${at + 1}: expected ${JSON.stringify(want[at] ?? '(end of file)')}, found ${JSON.stringify(have[at] ?? '(end of file)')}`;
}

test('docs/widget.md is up to date with the element (its manifest, custom-elements.json, and its TSDoc)', async (t) => {
  const script = (await import(widgetDocsScript.href)) as WidgetDocsScript;
  let expected: string;
  try {
    expected = script.renderWidgetDocs();
  } catch (error) {
    t.fail(
      `scripts/widget-docs.mjs could not read packages/widget/custom-elements.json (run \`npm run build\` at the root first): ${String(error)}`,
    );
    return;
  }
  const actual = await readFile(script.OUTPUT_PATH, 'utf8').catch(() => '');
  t.true(
    actual === expected,
    `docs/widget.md is out of date: run \`node scripts/widget-docs.mjs\` at the repository root (after \`npm run build\`) and commit the result (${firstDifference(expected, actual)})`,
  );
});

interface WidgetTypingsScript {
  renderWidgetTypings(manifest: unknown): Map<string, string>;
}

// Beside widget-docs.mjs, which writes them with docs/widget.md.
const widgetTypingsScript = new URL('../../../scripts/widget-typings.mjs', import.meta.url);

test("@beckon/widget's React and Vue typings, VS Code data and web-types are up to date with custom-elements.json", async (t) => {
  const script = (await import(widgetTypingsScript.href)) as WidgetTypingsScript;
  const docs = (await import(widgetDocsScript.href)) as WidgetDocsScript & { readManifest(): unknown };
  let files: Map<string, string>;
  try {
    files = script.renderWidgetTypings(docs.readManifest());
  } catch (error) {
    t.fail(
      `scripts/widget-typings.mjs could not read packages/widget/custom-elements.json (run \`npm run build\` at the root first): ${String(error)}`,
    );
    return;
  }
  t.is(files.size, 4);
  for (const [path, expected] of files) {
    const actual = await readFile(path, 'utf8').catch(() => '');
    t.true(
      actual === expected,
      `${relative(root, path)} is out of date: run \`node scripts/widget-docs.mjs\` at the repository root (after \`npm run build\`) and commit the result (${firstDifference(expected, actual)})`,
    );
  }
});

test('the API parts of docs/ns-client.md are up to date with the TSDoc in packages/ns-client/src', async (t) => {
  const script = (await import(nsClientDocsScript.href)) as NsClientDocsScript;
  const actual = await readFile(script.OUTPUT_PATH, 'utf8').catch(() => '');
  let expected: string;
  try {
    expected = script.renderNsClientDocs(actual);
  } catch (error) {
    t.fail(`scripts/ns-client-docs.mjs could not render docs/ns-client.md: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  t.true(
    actual === expected,
    `docs/ns-client.md is out of date: run \`node scripts/ns-client-docs.mjs\` at the repository root and commit the result (${firstDifference(expected, actual)})`,
  );
});

/** Markdown without fenced code blocks and inline code, where link syntax means nothing. */
function prose(markdown: string): string {
  return markdown.replace(/^([ \t]*)(```|~~~)[\s\S]*?^\1\2[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets: inline links and images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const targets: string[] = [];
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1] ?? '');
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1] ?? '');
  return targets;
}

/** GitHub's heading anchors: rendered text, lower-cased, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^([ \t]*)(```|~~~)[\s\S]*?^\1\2[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '').replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(match[1] ?? '');
  return found;
}

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => join(root, 'docs', name));
  return [join(root, 'README.md'), ...docs.sort()];
}

test('every relative link in docs/*.md and README.md leads to a file, and to a heading when it names one', async (t) => {
  const broken: string[] = [];
  const headings = new Map<string, Set<string>>();
  const anchorsOf = async (file: string) => {
    let set = headings.get(file);
    if (!set) {
      set = anchors(await readFile(file, 'utf8'));
      headings.set(file, set);
    }
    return set;
  };
  let checked = 0;
  for (const file of await markdownFiles()) {
    for (const target of linkTargets(await readFile(file, 'utf8'))) {
      // Other schemes (https:, mailto:) and protocol-relative URLs are not files of this repository.
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      checked += 1;
      const [path = '', fragment] = target.split('#', 2);
      const where = `${relative(root, file)} → ${target}`;
      const destination = path === '' ? file : resolve(dirname(file), decodeURIComponent(path.split('?')[0] ?? ''));
      if (!existsSync(destination)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (fragment && destination.endsWith('.md') && !(await anchorsOf(destination)).has(decodeURIComponent(fragment))) {
        broken.push(`${where}: no heading with that anchor in ${relative(root, destination)}`);
      }
    }
  }
  t.true(checked > 0, 'no relative links found: the link extraction is broken');
  t.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('docs/README.md links every page in docs/', async (t) => {
  const index = await readFile(join(root, 'docs/README.md'), 'utf8');
  const linked = new Set(linkTargets(index).map((target) => target.split('#')[0]));
  const pages = (await readdir(join(root, 'docs'), { withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name !== 'README.md' && /\.(md|json)$/.test(entry.name))
    .map((entry) => entry.name);
  t.deepEqual(
    pages.filter((name) => !linked.has(name) && !linked.has(`./${name}`)),
    [],
    'docs/README.md must have a line (with a link) for each of these pages',
  );
});

/** The names a TypeScript entry module exports: `export { a, type B, c as d } from …` and declarations. */
function exportedNames(source: string): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^export\s+(?:type\s+)?\{([\s\S]*?)\}/gm)) {
    for (const item of (match[1] ?? '').split(',')) {
      const name = item
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name) names.add(name);
    }
  }
  for (const match of source.matchAll(
    /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
  )) {
    names.add(match[1] ?? '');
  }
  return [...names].filter(Boolean);
}

test('docs/ns-client.md names every export of @beckon/ns-client and @beckon/ns-client/sandbox', async (t) => {
  const doc = await readFile(join(root, 'docs/ns-client.md'), 'utf8');
  const missing: string[] = [];
  for (const entry of ['packages/ns-client/src/index.ts', 'packages/ns-client/src/sandbox/index.ts']) {
    const names = exportedNames(await readFile(join(root, entry), 'utf8'));
    t.true(names.length > 5, `found too few exports in ${entry}: the parsing is broken`);
    for (const name of names) if (!new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(doc)) missing.push(`${name} (${entry})`);
  }
  t.deepEqual(missing, [], `document these exports in docs/ns-client.md:\n${missing.join('\n')}`);
});
