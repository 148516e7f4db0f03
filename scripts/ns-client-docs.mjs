#!/usr/bin/env node
// Writes the API part of docs/ns-client.md, the @beckon/ns-client reference, from the TSDoc in
// packages/ns-client/src/ (read through the TypeScript compiler API; no build needed). Run it after
// changing an export or its TSDoc:
//
//   node scripts/ns-client-docs.mjs
//
// The page is hand-written guide text around one generated region per entry point, between
// `<!-- BEGIN GENERATED API: <entry> -->` and `<!-- END GENERATED API: <entry> -->`; only those regions
// are rewritten. packages/server/test/docs.test.ts renders the same text in memory and fails when
// docs/ns-client.md is out of date. Plain Node ESM; its one dependency is the repository's TypeScript.

import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageDir = resolve(root, 'packages/ns-client');

/** The page the regions are written into. */
export const OUTPUT_PATH = resolve(root, 'docs/ns-client.md');

/**
 * The entry points, and how each one's exports are grouped: by the source file that declares them, in
 * this order. An export from a file not listed still appears, under its file name, after these.
 */
export const ENTRY_POINTS = [
  {
    name: '@beckon/ns-client',
    file: 'src/index.ts',
    groups: [
      { title: 'Creating a client', files: ['src/client.ts'] },
      { title: 'Credentials', files: ['src/auth.ts'] },
      { title: 'Queued calls', files: ['src/resources/queued-calls.ts'] },
      { title: 'Text messages', files: ['src/resources/messages.ts'] },
      { title: 'User accounts', files: ['src/resources/users.ts'] },
      { title: 'Dial rules', files: ['src/resources/dial-rules.ts'] },
      { title: 'Answer rules', files: ['src/resources/answer-rules.ts'] },
      { title: 'Provisioning a web responder', files: ['src/provision.ts'] },
      { title: 'Call event subscriptions', files: ['src/resources/subscriptions.ts'] },
      { title: 'Any other endpoint', files: ['src/request.ts', 'src/transport.ts', 'src/path.ts'] },
      { title: 'Phone numbers', files: ['src/numbers.ts'] },
      { title: 'Errors', files: ['src/errors.ts'] },
    ],
  },
  {
    name: '@beckon/ns-client/sandbox',
    file: 'src/sandbox/index.ts',
    groups: [
      { title: 'Starting a sandbox', files: ['src/sandbox/index.ts'] },
      { title: 'Routes and faults', files: ['src/sandbox/faults.ts'] },
      { title: 'Recorded state and events', files: ['src/sandbox/state.ts'] },
      { title: 'Request bodies', files: ['src/sandbox/schemas.ts', 'src/sandbox/body.ts', 'src/sandbox/server.ts'] },
    ],
  },
];

const begin = (entry) =>
  `<!-- BEGIN GENERATED API: ${entry} (by scripts/ns-client-docs.mjs from the TSDoc in packages/ns-client/src/):\n` +
  '     do not edit by hand; change the TSDoc, then run `node scripts/ns-client-docs.mjs`. -->';
const end = (entry) => `<!-- END GENERATED API: ${entry} -->`;
const BEGIN_PATTERN = /^<!-- BEGIN GENERATED API: (\S+) [\s\S]*?-->$/m;

// ---------------------------------------------------------------------------------------------------
// Reading the package

/** The compiler's view of the package, with its own tsconfig (so `@beckon/source` and Node types apply). */
function loadProgram() {
  const configPath = resolve(packageDir, 'tsconfig.json');
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  };
  const config = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, host);
  const rootNames = ENTRY_POINTS.map((entry) => resolve(packageDir, entry.file));
  return ts.createProgram({ rootNames, options: config.options });
}

const EXPORTABLE = new Set([
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.VariableDeclaration,
  ts.SyntaxKind.EnumDeclaration,
]);

/** Each entry point's exports: name, declarations (in source order) and the file declaring them. */
function collectExports(program) {
  const checker = program.getTypeChecker();
  return ENTRY_POINTS.map((entry) => {
    const sourceFile = program.getSourceFile(resolve(packageDir, entry.file));
    if (!sourceFile) throw new Error(`${entry.file} is not part of the program`);
    const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
    if (!moduleSymbol) throw new Error(`${entry.file} is not a module`);
    const symbols = checker.getExportsOfModule(moduleSymbol).map((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const declarations = (target.declarations ?? []).filter((declaration) => EXPORTABLE.has(declaration.kind));
      if (declarations.length === 0) throw new Error(`${entry.name}: cannot document the export ${symbol.name}`);
      const file = relative(packageDir, declarations[0].getSourceFile().fileName).split('\\').join('/');
      return { name: symbol.name, declarations, file, position: declarations[0].getStart() };
    });
    return { entry, symbols };
  });
}

/** Splits an entry's exports into its groups: in each, functions first, then the rest, in source order. */
function groupExports({ entry, symbols }) {
  const groups = entry.groups.map((group) => ({ ...group, symbols: [] }));
  const byFile = new Map();
  for (const group of groups) for (const file of group.files) byFile.set(file, group);
  const extra = new Map();
  for (const symbol of symbols) {
    let group = byFile.get(symbol.file);
    if (!group) {
      group = extra.get(symbol.file) ?? { title: `\`${symbol.file}\``, files: [symbol.file], symbols: [] };
      extra.set(symbol.file, group);
    }
    group.symbols.push(symbol);
  }
  const order = (group, symbol) =>
    (ts.isFunctionDeclaration(symbol.declarations[0]) ? 0 : 1e12) + group.files.indexOf(symbol.file) * 1e9 + symbol.position;
  return [...groups, ...extra.values()]
    .filter((group) => group.symbols.length > 0)
    .map((group) => ({ ...group, symbols: group.symbols.sort((a, b) => order(group, a) - order(group, b)) }));
}

// ---------------------------------------------------------------------------------------------------
// TSDoc

/**
 * The JSDoc block that documents a declaration: the last one before it, unless a blank line separates
 * them (then it is a file comment, as TypeDoc reads it too).
 */
function docComment(node) {
  const owner = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  const blocks = ts
    .getJSDocCommentsAndTags(owner)
    .filter(ts.isJSDoc)
    .filter((doc) => doc.parent === owner);
  const doc = blocks.at(-1);
  if (!doc) return undefined;
  const text = owner.getSourceFile().text;
  if (/\n[ \t]*\r?\n/.test(text.slice(doc.end, owner.getStart()))) return undefined;
  return text.slice(doc.getStart(), doc.end);
}

/** The comment's lines without `/**`, `*\/` and the leading ` * `, keeping indentation beyond it. */
function commentLines(raw) {
  const body = raw.replace(/^\/\*\*/, '').replace(/\*\/$/, '');
  const lines = body.split(/\r?\n/).map((line, index) => (index === 0 ? line.replace(/^\s+/, '') : line.replace(/^\s*\* ?/, '')));
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  while (lines.length > 0 && lines.at(-1).trim() === '') lines.pop();
  return lines.map((line) => line.replace(/\s+$/, ''));
}

/** `{ text, tags: [{ tag, text }] }` from a raw comment: block tags start a line outside code fences. */
function parseDoc(raw) {
  if (!raw) return { text: '', tags: [] };
  const lines = commentLines(raw);
  const description = [];
  const tags = [];
  let fenced = false;
  for (const line of lines) {
    const tag = fenced ? null : /^@(\w+)\s*(.*)$/.exec(line);
    if (tag) tags.push({ tag: tag[1], lines: tag[2] ? [tag[2]] : [] });
    else (tags.at(-1)?.lines ?? description).push(line);
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
  }
  const join = (text) => text.join('\n').trim();
  return { text: join(description), tags: tags.map(({ tag, lines: tagLines }) => ({ tag, text: join(tagLines) })) };
}

/** Markdown for a doc's block tags, in the order written. */
function renderTags(tags, link) {
  const parts = [];
  const params = tags.filter((tag) => tag.tag === 'param');
  if (params.length > 0) {
    parts.push(
      [
        '**Parameters**',
        '',
        ...params.map(({ text }) => {
          const [, name = '', rest = ''] = /^(\S+)\s*(?:-\s*)?([\s\S]*)$/.exec(text) ?? [];
          return `- \`${name}\`${rest ? `: ${link(rest).replace(/\n/g, ' ')}` : ''}`;
        }),
      ].join('\n'),
    );
  }
  for (const { tag, text } of tags) {
    if (tag === 'param') continue;
    if (tag === 'example') parts.push(`**Example**\n\n${/^\s*(```|~~~)/.test(text) ? text : `\`\`\`ts\n${text}\n\`\`\``}`);
    else if (tag === 'returns') parts.push(`**Returns** ${link(text)}`);
    else if (tag === 'throws') parts.push(`**Throws** ${link(text)}`);
    else if (tag === 'default' || tag === 'defaultValue') parts.push(`**Default** ${link(text)}`);
    else if (tag === 'deprecated') parts.push(`**Deprecated.** ${link(text)}`);
    else if (tag === 'see') parts.push(`**See** ${link(text)}`);
    else if (tag === 'remarks') parts.push(link(text));
    else parts.push(`**@${tag}** ${link(text)}`);
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------
// Markdown

/** GitHub's heading anchor, as docs.test.ts computes it. */
export function slug(heading) {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * Turns a code span that names an export (`` `NsUsageError` ``), and `{@link Name}`, into a link to its
 * heading, and `"Heading" in docs/page.md` (how TSDoc points at a guide) into a link to that section:
 * one of this page must exist (another page's is checked by docs.test.ts). Fenced code is left alone,
 * and so is the symbol's own name in its own section.
 */
function linker(anchors, self, sections) {
  const target = (name) => (name !== self && anchors.has(name) ? anchors.get(name) : undefined);
  const section = (text) =>
    text.replace(/"([^"\n]+)"\s+in\s+docs\/([\w.-]+\.md)/g, (_match, heading, page) => {
      if (page !== 'ns-client.md') return `[${heading}](${page}#${slug(heading)})`;
      if (!sections.has(slug(heading)))
        throw new Error(`the TSDoc of ${self} points at the section "${heading}" of docs/ns-client.md, which has no such heading`);
      return `[${heading}](#${slug(heading)})`;
    });
  const inline = (text) =>
    text
      .replace(/\{@link\s+([^}|\s]+)\s*(?:\|\s*([^}]*))?\}/g, (_match, name, label) => {
        const anchor = target(name);
        const shown = label?.trim() || `\`${name}\``;
        return anchor ? `[${shown}](#${anchor})` : shown;
      })
      .replace(/(?<![[\w`])`([A-Za-z_$][\w$]*)`(?![\]\w`])/g, (match, name) => {
        const anchor = target(name);
        return anchor ? `[\`${name}\`](#${anchor})` : match;
      });
  return (text) => {
    let fenced = false;
    return section(text)
      .split('\n')
      .map((line) => {
        if (/^\s*(```|~~~)/.test(line)) {
          fenced = !fenced;
          return line;
        }
        return fenced ? line : inline(line);
      })
      .join('\n');
  };
}

/** One table cell: one line, pipes escaped, paragraphs kept apart with `<br>`. */
function cell(text) {
  return String(text ?? '')
    .trim()
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, ' '))
    .join('<br><br>')
    .replace(/\|/g, '\\|');
}

function table(headings, rows) {
  return [
    `| ${headings.join(' | ')} |`,
    `|${headings.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** Source text on one line: white space runs collapsed, as a signature reads best in a table. */
function oneLine(text) {
  return text.replace(/\s+/g, ' ').replace(/\(\s/g, '(').replace(/\s\)/g, ')').trim();
}

/** A code span for any text: a longer fence when the text holds backticks. */
function codeSpan(text) {
  const ticks = text.includes('`') ? '``' : '`';
  return `${ticks}${ticks.length > 1 ? ' ' : ''}${text}${ticks.length > 1 ? ' ' : ''}${ticks}`;
}

function codeBlock(text) {
  return `\`\`\`ts\n${text}\n\`\`\``;
}

// ---------------------------------------------------------------------------------------------------
// Signatures

const isPrivate = (member) =>
  (member.name && ts.isPrivateIdentifier(member.name)) ||
  (ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;

/** `override name = 'NsHttpError'`: a class field `name` set to a string literal, undocumented. */
function isOwnName(member) {
  return (
    ts.isPropertyDeclaration(member) &&
    member.name.getText() === 'name' &&
    member.initializer !== undefined &&
    ts.isStringLiteral(member.initializer) &&
    !docComment(member)
  );
}

function parameterText(parameter) {
  const name = parameter.name.getText();
  const rest = parameter.dotDotDotToken ? '...' : '';
  const optional = parameter.questionToken || parameter.initializer ? '?' : '';
  return `${rest}${name}${optional}${parameter.type ? `: ${oneLine(parameter.type.getText())}` : ''}`;
}

function typeParametersText(node) {
  return node.typeParameters ? `<${node.typeParameters.map((parameter) => oneLine(parameter.getText())).join(', ')}>` : '';
}

/** `name<T>(a: A, b?: B): R` for a function, method or call signature. */
function callSignature(node, checker, name) {
  const parameters = node.parameters.map(parameterText).join(', ');
  let returns = node.type ? oneLine(node.type.getText()) : undefined;
  if (!returns) {
    const signature = checker.getSignatureFromDeclaration(node);
    returns = signature ? checker.typeToString(checker.getReturnTypeOfSignature(signature)) : 'void';
  }
  return `${name}${typeParametersText(node)}(${parameters}): ${returns}`;
}

function heritageText(node) {
  return (node.heritageClauses ?? [])
    .map(
      (clause) =>
        `${clause.token === ts.SyntaxKind.ExtendsKeyword ? 'extends' : 'implements'} ${clause.types.map((type) => oneLine(type.getText())).join(', ')}`,
    )
    .join(' ');
}

const MAX_INITIALIZER_LINES = 20;

/**
 * `const NAME = value` as written, when short; a long object literal shows its keys only (the values
 * are data, documented by their type).
 */
function variableText(declaration, checker) {
  const name = declaration.name.getText();
  const keyword = declaration.parent.flags & ts.NodeFlags.Const ? 'const' : 'let';
  if (declaration.type) return `${keyword} ${name}: ${oneLine(declaration.type.getText())}`;
  const initializer = declaration.initializer;
  if (!initializer) return `${keyword} ${name}: ${checker.typeToString(checker.getTypeAtLocation(declaration))}`;
  const text = sourceText(initializer);
  if (text.split('\n').length <= MAX_INITIALIZER_LINES) return `${keyword} ${name} = ${text}`;
  let inner = initializer;
  const suffixes = [];
  while (ts.isAsExpression(inner) || ts.isSatisfiesExpression(inner)) {
    suffixes.unshift(`${ts.isAsExpression(inner) ? 'as' : 'satisfies'} ${oneLine(inner.type.getText())}`);
    inner = inner.expression;
  }
  if (ts.isObjectLiteralExpression(inner)) {
    const keys = inner.properties.map((property) => `  ${property.name ? property.name.getText() : oneLine(property.getText())}: { … },`);
    return `${keyword} ${name} = {\n${keys.join('\n')}\n}${suffixes.length ? ` ${suffixes.join(' ')}` : ''}`;
  }
  return `${keyword} ${name}: ${checker.typeToString(checker.getTypeAtLocation(declaration), undefined, ts.TypeFormatFlags.NoTruncation)}`;
}

/** A declaration as written, without `export` and the final semicolon. */
function declarationText(declaration) {
  return sourceText(declaration)
    .replace(/^(?:export\s+)?(?:declare\s+)?/, '')
    .replace(/;\s*$/, '');
}

/** A node's source text, its later lines without the indentation of the line it starts on. */
function sourceText(node) {
  const sourceFile = node.getSourceFile();
  const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart());
  const lineStart = sourceFile.getPositionOfLineAndCharacter(line, 0);
  const indent = /^[ \t]*/.exec(sourceFile.text.slice(lineStart))[0].length;
  return node
    .getText()
    .split('\n')
    .map((text, index) => (index === 0 ? text : text.slice(Math.min(indent, /^[ \t]*/.exec(text)[0].length))))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Sections

function memberName(member) {
  if (ts.isIndexSignatureDeclaration(member)) return `[${member.parameters.map((parameter) => oneLine(parameter.getText())).join(', ')}]`;
  const name = member.name.getText();
  return member.questionToken ? `${name}?` : name;
}

/** A property's type as written; a class field without one shows its initializer (`name = 'NsHttpError'`). */
function memberType(member, checker) {
  if (member.type) return oneLine(member.type.getText());
  if (member.initializer) return oneLine(member.initializer.getText());
  return checker.typeToString(checker.getTypeAtLocation(member));
}

/**
 * What an interface or class inherits. Members of an exported parent are documented there, so only a
 * line names it; an unexported parent's members are listed as the type's own (else no page shows them).
 */
function heritage(declaration, checker, anchors) {
  const linked = new Set();
  const members = [];
  const visit = (node) => {
    for (const clause of node.heritageClauses ?? []) {
      for (const type of clause.types) {
        for (const match of type.getText().matchAll(/[A-Za-z_$][\w$]*/g)) if (anchors.has(match[0])) linked.add(match[0]);
        let parent = checker.getSymbolAtLocation(type.expression);
        if (parent && parent.flags & ts.SymbolFlags.Alias) parent = checker.getAliasedSymbol(parent);
        const parentDeclaration = parent?.declarations?.find(
          (candidate) => ts.isInterfaceDeclaration(candidate) || ts.isClassDeclaration(candidate),
        );
        if (!parentDeclaration || anchors.has(parent.name) || !parentDeclaration.getSourceFile().fileName.startsWith(packageDir)) continue;
        members.push(...parentDeclaration.members);
        visit(parentDeclaration);
      }
    }
  };
  visit(declaration);
  const names = [...linked].map((name) => `[\`${name}\`](#${anchors.get(name)})`);
  const line =
    names.length === 0
      ? undefined
      : `Also has the members of ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`}.`;
  return { line, members };
}

/** Members of an interface or class: properties in a table, methods each under a heading of their own. */
function membersSection(owner, members, checker, link, anchors) {
  const properties = [];
  const methods = [];
  for (const member of members) {
    if (isPrivate(member) || ts.isConstructorDeclaration(member)) continue;
    if (ts.isPropertySignature(member) || ts.isPropertyDeclaration(member) || ts.isIndexSignatureDeclaration(member))
      properties.push(member);
    else if (ts.isMethodSignature(member) || ts.isMethodDeclaration(member)) methods.push(member);
    else if (ts.isGetAccessorDeclaration(member)) properties.push(member);
  }
  const parts = [];
  if (properties.length > 0) {
    const rows = properties.map((member) => {
      const doc = parseDoc(docComment(member));
      const text = [doc.text, ...renderTags(doc.tags, link)].filter(Boolean).join('\n\n');
      const type = ts.isGetAccessorDeclaration(member)
        ? oneLine(member.type?.getText() ?? checker.typeToString(checker.getTypeAtLocation(member)))
        : memberType(member, checker);
      const typeCell = anchors.has(type) && type !== owner ? `[\`${type}\`](#${anchors.get(type)})` : codeSpan(type);
      return [codeSpan(memberName(member)), typeCell, link(text)];
    });
    parts.push(table(['member', 'type', 'description'], rows));
  }
  for (const method of methods) {
    const name = method.name.getText();
    const doc = parseDoc(docComment(method));
    parts.push(
      [`##### \`${owner}.${name}\``, codeBlock(callSignature(method, checker, name)), link(doc.text), ...renderTags(doc.tags, link)]
        .filter(Boolean)
        .join('\n\n'),
    );
  }
  return parts;
}

/** One export: its heading, signature, TSDoc and members. */
function symbolSection(symbol, checker, anchors, sections) {
  const link = linker(anchors, symbol.name, sections);
  const [declaration] = symbol.declarations;
  const doc = parseDoc(docComment(declaration));
  const parts = [`#### \`${symbol.name}\``];
  const body = [link(doc.text), ...renderTags(doc.tags, link)].filter(Boolean);
  let members = [];

  if (ts.isFunctionDeclaration(declaration)) {
    const overloads = symbol.declarations.filter((node) => ts.isFunctionDeclaration(node) && !node.body);
    const signatures = (overloads.length > 0 ? overloads : [declaration]).map(
      (node) => `function ${callSignature(node, checker, symbol.name)}`,
    );
    parts.push(codeBlock(signatures.join('\n')));
  } else if (ts.isClassDeclaration(declaration)) {
    const constructors = declaration.members.filter((member) => ts.isConstructorDeclaration(member) && !isPrivate(member));
    const header = `class ${symbol.name}${typeParametersText(declaration)}${declaration.heritageClauses ? ` ${heritageText(declaration)}` : ''}`;
    // An error class's `name` is its own name: shown as written, not as a table row of its own.
    const nameField = declaration.members.find(isOwnName);
    const inside = [
      ...(nameField ? [`  ${oneLine(nameField.getText()).replace(/;?$/, ';')}`] : []),
      ...constructors.map((node) => `  ${callSignature(node, checker, 'constructor').replace(/: [^:]*$/, '')};`),
    ];
    parts.push(codeBlock(inside.length > 0 ? `${header} {\n${inside.join('\n')}\n}` : `${header} {}`));
    const inherited = heritage(declaration, checker, anchors);
    body.push(...[inherited.line].filter(Boolean));
    const own = declaration.members.filter((member) => !isOwnName(member));
    members = membersSection(symbol.name, [...inherited.members, ...own], checker, link, anchors);
  } else if (ts.isInterfaceDeclaration(declaration)) {
    if (declaration.typeParameters || declaration.heritageClauses) {
      parts.push(
        codeBlock(
          `interface ${symbol.name}${typeParametersText(declaration)}${declaration.heritageClauses ? ` ${heritageText(declaration)}` : ''}`,
        ),
      );
    }
    const inherited = heritage(declaration, checker, anchors);
    body.push(...[inherited.line].filter(Boolean));
    members = membersSection(
      symbol.name,
      [...inherited.members, ...symbol.declarations.flatMap((node) => node.members)],
      checker,
      link,
      anchors,
    );
  } else if (ts.isTypeAliasDeclaration(declaration)) {
    parts.push(codeBlock(declarationText(declaration)));
  } else if (ts.isVariableDeclaration(declaration)) {
    parts.push(codeBlock(variableText(declaration, checker)));
  } else if (ts.isEnumDeclaration(declaration)) {
    parts.push(codeBlock(declarationText(declaration)));
  }
  return [...parts, ...body, ...members].join('\n\n');
}

/** The generated region of one entry point: an index of its exports, then a section per group. */
function entrySection(grouped, entry, checker, anchors, sections) {
  const overview = table(
    ['topic', 'exports'],
    grouped.map((group) => [
      `[${group.title}](#${slug(group.title)})`,
      group.symbols.map((symbol) => `[\`${symbol.name}\`](#${anchors.get(symbol.name)})`).join(', '),
    ]),
  );
  const intro =
    `Every export of \`${entry.name}\` (\`packages/ns-client/${entry.file}\`), with its signature and its TSDoc, ` +
    'grouped by topic: in each, functions first, then the rest in source order.';
  const topics = grouped.map((group) =>
    [`### ${group.title}`, ...group.symbols.map((symbol) => symbolSection(symbol, checker, anchors, sections))].join('\n\n'),
  );
  return [intro, overview, ...topics].join('\n\n');
}

/**
 * The generated text of every entry point, keyed by entry name. `sections` are the anchors of the
 * page's hand-written headings, which TSDoc may point at.
 */
export function renderApi(sections = new Set()) {
  const program = loadProgram();
  const checker = program.getTypeChecker();
  const entries = collectExports(program).map((collected) => ({ entry: collected.entry, groups: groupExports(collected) }));
  // One anchor per exported name: a heading `#### \`Name\`` is found at #name.
  const anchors = new Map();
  for (const { groups } of entries)
    for (const group of groups) for (const symbol of group.symbols) anchors.set(symbol.name, slug(symbol.name));
  return new Map(entries.map(({ entry, groups }) => [entry.name, entrySection(groups, entry, checker, anchors, sections)]));
}

/** The page without its generated regions: the hand-written part. */
function withoutGenerated(page) {
  return page.replace(/^<!-- BEGIN GENERATED API: [\s\S]*?^<!-- END GENERATED API: .*$/gm, '');
}

/** Every heading anchor of a page, with how often it occurs (GitHub numbers repeats: `-1`, `-2`…). */
function headingCounts(markdown) {
  const counts = new Map();
  const withoutFences = markdown.replace(/^([ \t]*)(```|~~~)[\s\S]*?^\1\2[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const anchor = slug(match[1]);
    counts.set(anchor, (counts.get(anchor) ?? 0) + 1);
  }
  return counts;
}

/**
 * The page with its generated regions rewritten from the current sources. `page` is the page as it is
 * (default: docs/ns-client.md); its hand-written parts are kept as they are.
 */
export function renderNsClientDocs(page = readFileSync(OUTPUT_PATH, 'utf8')) {
  const generated = renderApi(new Set(headingCounts(withoutGenerated(page)).keys()));
  let text = page;
  for (const [entry, body] of generated) {
    const start = text.indexOf(`<!-- BEGIN GENERATED API: ${entry} `);
    const stop = text.indexOf(end(entry));
    if (start === -1 || stop === -1 || stop < start) {
      throw new Error(
        `docs/ns-client.md needs the lines \`<!-- BEGIN GENERATED API: ${entry} … -->\` and \`${end(entry)}\` where the API of ${entry} goes`,
      );
    }
    text = `${text.slice(0, start)}${begin(entry)}\n\n${body}\n\n${text.slice(stop)}`;
  }
  for (const match of text.matchAll(new RegExp(BEGIN_PATTERN, 'gm'))) {
    if (!generated.has(match[1])) throw new Error(`docs/ns-client.md has a region for ${match[1]}, which is not an entry point`);
  }
  // The generated links go to the first heading with their anchor: each generated heading must be the only one.
  const counts = headingCounts(text);
  const generatedAnchors = new Set();
  for (const body of generated.values()) for (const [anchor] of headingCounts(body)) generatedAnchors.add(anchor);
  const clashes = [...generatedAnchors].filter((anchor) => (counts.get(anchor) ?? 0) > 1);
  if (clashes.length > 0)
    throw new Error(
      `docs/ns-client.md has more than one heading for ${clashes.map((anchor) => `#${anchor}`).join(', ')}: rename the hand-written one`,
    );
  return text;
}

/** Rewrites the generated regions of docs/ns-client.md. */
export function writeNsClientDocs() {
  const text = renderNsClientDocs();
  writeFileSync(OUTPUT_PATH, text);
  return OUTPUT_PATH;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    console.log(`Wrote ${writeNsClientDocs()}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
