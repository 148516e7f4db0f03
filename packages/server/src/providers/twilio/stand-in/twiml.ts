/**
 * Reading TwiML as Twilio does before it acts on it: the driver needs the `<Dial>` of Beckon's answer
 * (its `action`, `method`, `timeout`, `callerId` and numbers) and must notice a document Twilio would
 * refuse. TwiML is a small XML dialect (elements, attributes, text; no DTD, no namespaces in use), so a
 * strict little reader does, rather than an XML library for the stand-in's sake.
 */

/** One TwiML element: a verb (`Dial`, `Say`, `Hangup`) or a noun inside one (`Number`). */
export interface TwimlElement {
  name: string;
  attributes: Record<string, string>;
  /** The text directly inside, entities decoded, trimmed (what `<Say>` says, a bare `<Dial>`'s number). */
  text: string;
  children: TwimlElement[];
}

/** A document Twilio would refuse with error 12100 (document parse failure). */
export class TwimlParseError extends Error {
  override readonly name = 'TwimlParseError';
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string, at: number): string {
  return text.replace(/&(#x[\da-f]+|#\d+|\w+);|&/gi, (whole, entity: string | undefined) => {
    if (entity === undefined) throw new TwimlParseError(`A bare "&" near character ${at}: write &amp;`);
    if (entity.startsWith('#')) {
      const code = entity[1] === 'x' || entity[1] === 'X' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
      if (!(code >= 0 && code <= 0x10ffff)) throw new TwimlParseError(`Invalid character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const decoded = ENTITIES[entity];
    if (decoded === undefined) throw new TwimlParseError(`Unknown entity ${whole}`);
    return decoded;
  });
}

/** A cursor over the document; each method consumes what it reads or throws `TwimlParseError`. */
class Reader {
  readonly source: string;
  #at = 0;

  constructor(source: string) {
    this.source = source;
  }

  get done(): boolean {
    return this.#at >= this.source.length;
  }

  startsWith(text: string): boolean {
    return this.source.startsWith(text, this.#at);
  }

  skipSpace(): void {
    while (!this.done && /\s/.test(this.source[this.#at] ?? '')) this.#at += 1;
  }

  /** Skips `<?…?>` and `<!--…-->` (and whitespace around them). */
  skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<?')) this.#skipPast('?>');
      else if (this.startsWith('<!--')) this.#skipPast('-->');
      else return;
    }
  }

  #skipPast(end: string): void {
    const index = this.source.indexOf(end, this.#at);
    if (index < 0) throw new TwimlParseError(`Unterminated construct at character ${this.#at}: expected ${end}`);
    this.#at = index + end.length;
  }

  #expect(text: string): void {
    if (!this.startsWith(text)) throw new TwimlParseError(`Expected "${text}" at character ${this.#at}`);
    this.#at += text.length;
  }

  #name(): string {
    NAME.lastIndex = this.#at;
    const match = NAME.exec(this.source);
    if (!match) throw new TwimlParseError(`Expected a name at character ${this.#at}`);
    this.#at = NAME.lastIndex;
    return match[0];
  }

  element(): TwimlElement {
    if (this.startsWith('<!')) throw new TwimlParseError('DOCTYPE and CDATA outside an element are not TwiML');
    this.#expect('<');
    const name = this.#name();
    const attributes: Record<string, string> = {};
    for (;;) {
      this.skipSpace();
      if (this.startsWith('/>')) {
        this.#at += 2;
        return { name, attributes, text: '', children: [] };
      }
      if (this.startsWith('>')) {
        this.#at += 1;
        break;
      }
      const attribute = this.#name();
      this.skipSpace();
      this.#expect('=');
      this.skipSpace();
      const quote = this.source[this.#at];
      if (quote !== '"' && quote !== "'") throw new TwimlParseError(`Attribute ${attribute} needs a quoted value`);
      const end = this.source.indexOf(quote, this.#at + 1);
      if (end < 0) throw new TwimlParseError(`Unterminated value of attribute ${attribute}`);
      if (Object.hasOwn(attributes, attribute)) throw new TwimlParseError(`Attribute ${attribute} given twice on <${name}>`);
      attributes[attribute] = decodeEntities(this.source.slice(this.#at + 1, end), this.#at);
      this.#at = end + 1;
    }
    const children: TwimlElement[] = [];
    let text = '';
    for (;;) {
      if (this.done) throw new TwimlParseError(`<${name}> is never closed`);
      if (this.startsWith('</')) {
        this.#at += 2;
        const closing = this.#name();
        if (closing !== name) throw new TwimlParseError(`</${closing}> closes <${name}>`);
        this.skipSpace();
        this.#expect('>');
        return { name, attributes, text: text.trim(), children };
      }
      if (this.startsWith('<!--')) this.skipMisc();
      else if (this.startsWith('<![CDATA[')) {
        const end = this.source.indexOf(']]>', this.#at);
        if (end < 0) throw new TwimlParseError('Unterminated CDATA section');
        text += this.source.slice(this.#at + 9, end);
        this.#at = end + 3;
      } else if (this.startsWith('<')) children.push(this.element());
      else {
        const next = this.source.indexOf('<', this.#at);
        const end = next < 0 ? this.source.length : next;
        text += decodeEntities(this.source.slice(this.#at, end), this.#at);
        this.#at = end;
      }
    }
  }
}

/** Reads a TwiML document: its `<Response>` root. Throws `TwimlParseError` for anything else. */
export function parseTwiml(xml: string): TwimlElement {
  const reader = new Reader(xml.replace(/^\uFEFF/, ''));
  reader.skipMisc();
  if (reader.done) throw new TwimlParseError('The document is empty');
  const root = reader.element();
  reader.skipMisc();
  if (!reader.done) throw new TwimlParseError('Content after the root element');
  if (root.name !== 'Response') throw new TwimlParseError(`The root element is <${root.name}>, not <Response>`);
  return root;
}
