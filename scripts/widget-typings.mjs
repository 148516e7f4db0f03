// The files that teach frameworks and editors @beckon/widget's elements, generated from the package's
// Custom Elements Manifest (packages/widget/custom-elements.json, built from the elements' JSDoc):
//
//   packages/widget/frameworks/react.d.ts          React 19 JSX: `react`'s JSX.IntrinsicElements
//   packages/widget/frameworks/vue.d.ts            Vue 3 SFC templates: `vue`'s GlobalComponents
//   packages/widget/vscode.html-custom-data.json   VS Code's `html.customData`
//   packages/widget/web-types.json                 JetBrains IDEs (`"web-types"` in package.json)
//
// The manifest gives the elements, their attribute names and which property each sets, their events
// and their docs; the TypeScript types are not copied out of it but referenced: a property's type is
// `CallUsButton['configId']` and an event's is `HTMLElementEventMap['call-us-success']`, both from the
// package's own declarations, so the typings cannot disagree with the classes. `scripts/widget-docs.mjs`
// writes these files with docs/widget.md; packages/server/test/docs.test.ts fails when they are stale.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('../packages/widget/', import.meta.url));

/** Each generated file: where it goes (absolute) and how it is rendered from the manifest. */
export const TYPINGS_FILES = {
  react: resolve(packageDir, 'frameworks/react.d.ts'),
  vue: resolve(packageDir, 'frameworks/vue.d.ts'),
  vscode: resolve(packageDir, 'vscode.html-custom-data.json'),
  webTypes: resolve(packageDir, 'web-types.json'),
};

const HOW_TO_REGENERATE = 'npm run build && node scripts/widget-docs.mjs';

const isPublic = (member) => !member.privacy || member.privacy === 'public';

/**
 * What the files need of each element, in the manifest's terms: its class, tag, description, the
 * attributes that set a property (by attribute name), the properties a page sets from script only,
 * its events, CSS parts and custom properties.
 */
export function elementsOf(manifest) {
  const elements = [];
  for (const module of manifest.modules ?? []) {
    for (const declaration of module.declarations ?? []) {
      if (!declaration.customElement || !declaration.tagName) continue;
      const fields = (declaration.members ?? []).filter(
        (member) => member.kind === 'field' && !member.static && !member.readonly && isPublic(member),
      );
      const attributes = (declaration.attributes ?? []).filter((attribute) => attribute.fieldName);
      const withAttribute = new Set(attributes.map((attribute) => attribute.fieldName));
      elements.push({
        className: declaration.name,
        tagName: declaration.tagName,
        summary: declaration.summary?.trim() ?? '',
        description: declaration.description?.trim() ?? '',
        attributes: attributes.map((attribute) => {
          const field = fields.find((candidate) => candidate.name === attribute.fieldName);
          return {
            name: attribute.name,
            fieldName: attribute.fieldName,
            type: (field?.type ?? attribute.type)?.text ?? 'string',
            default: field?.default ?? attribute.default,
            description: (field?.description ?? attribute.description ?? '').trim(),
          };
        }),
        // Attributes without a property of their own (`lang`): standard HTML ones, for the editors only.
        globalAttributes: (declaration.attributes ?? [])
          .filter((attribute) => !attribute.fieldName)
          .map((attribute) => ({
            name: attribute.name,
            type: attribute.type?.text ?? 'string',
            description: (attribute.description ?? '').trim(),
          })),
        properties: fields
          .filter((field) => !withAttribute.has(field.name))
          .map((field) => ({ name: field.name, type: field.type?.text ?? 'unknown', description: (field.description ?? '').trim() })),
        fields: fields.map((field) => ({
          name: field.name,
          type: field.type?.text ?? 'unknown',
          default: field.default,
          attribute: field.attribute,
          description: (field.description ?? '').trim(),
        })),
        events: (declaration.events ?? []).map((event) => ({
          name: event.name,
          type: event.type?.text,
          description: (event.description ?? '').trim(),
        })),
        cssParts: (declaration.cssParts ?? []).map((part) => ({ name: part.name, description: (part.description ?? '').trim() })),
        cssProperties: (declaration.cssProperties ?? []).map((property) => ({
          name: property.name,
          default: property.default,
          description: (property.description ?? '').trim(),
        })),
      });
    }
  }
  if (elements.length === 0) throw new Error('custom-elements.json declares no custom element: run `npm run build` first');
  return elements.sort((a, b) => a.tagName.localeCompare(b.tagName));
}

/** A JSDoc block at `indent`, from text that may span lines; nothing for no text. */
function jsdoc(text, indent = '') {
  if (!text) return [];
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  return [`${indent}/**`, ...lines.map((line) => `${indent} *${line ? ` ${line}` : ''}`), `${indent} */`];
}

const quoted = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`);
const union = (names) => (names.length ? names.map((name) => `'${name}'`).join(' | ') : 'never');
const pascal = (tagName) => tagName.replace(/(^|-)(\w)/g, (_, __, letter) => letter.toUpperCase());

function elementDoc(element) {
  return [element.summary, element.description].filter(Boolean).join('\n\n');
}

function header(what) {
  return [
    `// Generated by scripts/widget-docs.mjs from custom-elements.json: do not edit. ${what}`,
    `// Change the elements' JSDoc in packages/widget/src/, then run \`${HOW_TO_REGENERATE}\`.`,
  ];
}

/** `frameworks/react.d.ts`: props for React 19, which sets a custom element's props as it finds them. */
export function renderReactTypings(manifest) {
  const elements = elementsOf(manifest);
  const lines = [
    ...header('React 19 JSX types for the elements.'),
    '//',
    "// One line in a TSX project makes them known: `import type {} from '@beckon/widget/react';`",
    '// (or `"types": ["@beckon/widget/react"]` in tsconfig.json). React 19 passes a prop to a custom',
    '// element as a property when the element has one of that name (so define the element before React',
    '// renders it), else as an attribute; `on` + an event name, exactly as written, becomes a listener.',
    "import type { DetailedHTMLProps, HTMLAttributes } from 'react';",
    `import type { ${elements.map((element) => element.className).join(', ')} } from '../dist/index.js';`,
    '',
    '/** `on` + each event name, as React 19 attaches it (`addEventListener(name)`), typed by the event maps. */',
    'type EventProps<Names extends keyof HTMLElementEventMap> = {',
    '  [Name in Names as `on${Name}`]?: (event: HTMLElementEventMap[Name]) => void;',
    '};',
  ];
  for (const element of elements) {
    const props = `${pascal(element.tagName)}Props`;
    lines.push(
      '',
      ...jsdoc(
        `Props of \`<${element.tagName}>\` in JSX: its attributes by attribute name, the properties it has no attribute for by property name, and \`on\` + each of its events.`,
      ),
      `export interface ${props}`,
      `  extends DetailedHTMLProps<HTMLAttributes<${element.className}>, ${element.className}>,`,
      `    EventProps<${union(element.events.map((event) => event.name))}> {`,
    );
    for (const attribute of element.attributes) {
      lines.push(...jsdoc(attribute.description, '  '), `  ${quoted(attribute.name)}?: ${element.className}['${attribute.fieldName}'];`);
    }
    for (const property of element.properties) {
      lines.push(...jsdoc(property.description, '  '), `  ${quoted(property.name)}?: ${element.className}['${property.name}'];`);
    }
    lines.push('}');
  }
  lines.push('', "declare module 'react' {", '  namespace JSX {', '    interface IntrinsicElements {');
  for (const element of elements) {
    lines.push(...jsdoc(elementDoc(element), '      '), `      '${element.tagName}': ${pascal(element.tagName)}Props;`);
  }
  lines.push('    }', '  }', '}', '');
  return lines.join('\n');
}

/** `frameworks/vue.d.ts`: `GlobalComponents` entries, the shape vue-tsc reads props and events from. */
export function renderVueTypings(manifest) {
  const elements = elementsOf(manifest);
  const lines = [
    ...header('Vue 3 types for the elements in SFC templates.'),
    '//',
    "// One line in a project checked by vue-tsc makes them known: `import type {} from '@beckon/widget/vue';`",
    '// (or `"types": ["@beckon/widget/vue"]` in tsconfig.json). Vue must also be told the tags are custom',
    `// elements: \`compilerOptions.isCustomElement: (tag) => ${elements.map((element) => `tag === '${element.tagName}'`).join(' || ')}\``,
    "// in @vitejs/plugin-vue's `template` options (see the widget README).",
    "import type { EmitFn, HTMLAttributes, PublicProps } from 'vue';",
    `import type { ${elements.map((element) => element.className).join(', ')} } from '../dist/index.js';`,
    '',
    '/**',
    ' * A custom element as vue-tsc sees a component: template props from `$props` (by property name; a',
    ' * template may write them kebab-cased, as attributes), `@event` listeners from `$emit`.',
    ' */',
    'type VueCustomElement<Element extends HTMLElement, Props extends keyof Element, Events extends keyof HTMLElementEventMap> = new () => Element & {',
    '  /** @deprecated For template type checking only: the element has no `$props`. */',
    '  $props: HTMLAttributes & Partial<Pick<Element, Props>> & PublicProps;',
    '  /** @deprecated For template type checking only: the element has no `$emit`. */',
    '  $emit: EmitFn<{ [Name in Events]: (event: HTMLElementEventMap[Name]) => void }>;',
    '};',
    '',
    "declare module 'vue' {",
    '  interface GlobalComponents {',
  ];
  for (const element of elements) {
    const props = union(element.fields.map((field) => field.name));
    const events = union(element.events.map((event) => event.name));
    lines.push(
      ...jsdoc(elementDoc(element), '    '),
      `    '${element.tagName}': VueCustomElement<`,
      `      ${element.className},`,
      `      ${props},`,
      `      ${events}`,
      '    >;',
    );
  }
  lines.push('  }', '}', '');
  return lines.join('\n');
}

function homepage() {
  const manifest = JSON.parse(readFileSync(resolve(packageDir, 'package.json'), 'utf8'));
  return { name: manifest.name, version: manifest.version, repository: manifest.homepage.replace(/\/tree\/main\/.*$/, '') };
}

/** The element's section of the reference, on GitHub. */
function docUrl(element) {
  return `${homepage().repository}/blob/main/docs/widget.md#${element.tagName}`;
}

const markdown = (value) => ({ kind: 'markdown', value });

/** `vscode.html-custom-data.json`: tags and attributes, for VS Code's `html.customData` setting. */
export function renderVscodeCustomData(manifest) {
  const data = {
    version: 1.1,
    tags: elementsOf(manifest).map((element) => ({
      name: element.tagName,
      description: markdown(elementDoc(element)),
      attributes: [...element.globalAttributes, ...element.attributes].map((attribute) => ({
        name: attribute.name,
        description: markdown(
          [attribute.description, `Type: \`${attribute.type}\`${attribute.default ? `; default \`${attribute.default}\`` : ''}.`]
            .filter(Boolean)
            .join('\n\n'),
        ),
      })),
      references: [{ name: `<${element.tagName}> reference`, url: docUrl(element) }],
    })),
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** `web-types.json`: elements with attributes, properties, events, CSS parts and properties, for JetBrains IDEs. */
export function renderWebTypes(manifest) {
  const { name, version } = homepage();
  const data = {
    $schema: 'https://raw.githubusercontent.com/JetBrains/web-types/master/schema/web-types.json',
    name,
    version,
    'js-types-syntax': 'typescript',
    'description-markup': 'markdown',
    contributions: {
      html: {
        elements: elementsOf(manifest).map((element) => ({
          name: element.tagName,
          description: elementDoc(element),
          'doc-url': docUrl(element),
          source: { module: name, symbol: element.className },
          attributes: [...element.globalAttributes, ...element.attributes].map((attribute) => ({
            name: attribute.name,
            description: attribute.description,
            ...(attribute.default !== undefined ? { default: attribute.default } : {}),
            value: { type: attribute.type },
          })),
          events: element.events.map((event) => ({ name: event.name, description: event.description })),
          js: {
            properties: element.fields.map((field) => ({
              name: field.name,
              description: field.description,
              type: field.type,
              ...(field.default !== undefined ? { default: field.default } : {}),
            })),
            events: element.events.map((event) => ({
              name: event.name,
              description: event.description,
              ...(event.type ? { type: event.type } : {}),
            })),
          },
          css: {
            properties: element.cssProperties.map((property) => ({
              name: property.name,
              description: property.description,
              ...(property.default !== undefined ? { default: property.default } : {}),
            })),
            parts: element.cssParts.map((part) => ({ name: part.name, description: part.description })),
          },
        })),
      },
    },
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Every generated file: absolute path → text, rendered from a parsed manifest. */
export function renderWidgetTypings(manifest) {
  return new Map([
    [TYPINGS_FILES.react, renderReactTypings(manifest)],
    [TYPINGS_FILES.vue, renderVueTypings(manifest)],
    [TYPINGS_FILES.vscode, renderVscodeCustomData(manifest)],
    [TYPINGS_FILES.webTypes, renderWebTypes(manifest)],
  ]);
}
