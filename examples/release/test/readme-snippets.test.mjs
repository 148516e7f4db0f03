// The READMEs show what the release test runs: each snippet listed below is, character for character, a
// file of consumer/ (which release.test.mjs installs from the packed tarballs, compiles and runs), and each
// README names the install line of its packages. Edit the file, then paste it into the README (or the
// other way round): this test fails while they differ. The CDN lines are kept by
// scripts/cdn-integrity.mjs and checked against the installed bundles by release.test.mjs.
import { readFile } from 'node:fs/promises';
import test from 'ava';

const ROOT = new URL('../../../', import.meta.url);
const CONSUMER = 'examples/release/consumer/';

/** README → the consumer files it shows, and the packages whose `npm install` line it gives. */
const READMES = {
  'README.md': {
    snippets: ['src/plain.ts', 'src/react.tsx', 'vite.config.mjs', 'src/vue.ts', 'src/App.vue', 'koa-host.ts'],
    installs: ['@beckon/widget', '@beckon/server', '@beckon/ns-client'],
    cdn: true,
  },
  'packages/widget/README.md': {
    snippets: ['src/plain.ts', 'src/react.tsx', 'vite.config.mjs', 'src/vue.ts', 'src/App.vue'],
    installs: ['@beckon/widget'],
    cdn: true,
  },
  'packages/server/README.md': { snippets: ['koa-host.ts'], installs: ['@beckon/server'] },
  'packages/ns-client/README.md': { snippets: ['client.mjs'], installs: ['@beckon/ns-client'] },
};

const FENCE = { '.ts': 'ts', '.tsx': 'tsx', '.vue': 'vue', '.mjs': 'js' };

/** The fenced code blocks of a Markdown text: language and content. */
function codeBlocks(markdown) {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, language, content]) => ({ language, content }));
}

for (const [readme, { snippets, installs, cdn }] of Object.entries(READMES)) {
  test(`${readme} shows the release test's files as they are, its install line${cdn ? ' and the CDN lines' : ''}`, async (t) => {
    const text = await readFile(new URL(readme, ROOT), 'utf8');
    const blocks = codeBlocks(text);
    for (const snippet of snippets) {
      const file = await readFile(new URL(`${CONSUMER}${snippet}`, ROOT), 'utf8');
      const language = FENCE[snippet.slice(snippet.lastIndexOf('.'))];
      t.true(
        blocks.some((block) => block.language === language && block.content === file),
        `${readme} has a \`\`\`${language} block that is ${CONSUMER}${snippet}, character for character`,
      );
    }
    for (const name of installs) {
      t.true(
        blocks.some((block) => block.language === 'sh' && new RegExp(`^npm install (\\S+ )*${name}( |$)`, 'm').test(block.content)),
        `${readme}: npm install ${name}`,
      );
    }
    if (cdn) {
      // The lines themselves are scripts/cdn-integrity.mjs's; here, that the README has them.
      t.regex(
        text,
        /<!-- cdn:start[^\n]*-->\n```html\n(<script type="module" src="https:\/\/cdn\.jsdelivr\.net\/npm\/@beckon\/widget@[^"]+"\n\s+integrity="sha384-[\w+/=]+" crossorigin="anonymous"><\/script>\n)+```\n<!-- cdn:end -->/,
      );
    }
  });
}
