/**
 * The few NetSapiens web-responder verbs Beckon answers with. NetSapiens is not Twilio: there is no
 * `<Dial>` or `<Pause>`. Every text is escaped; nothing from a request or a config reaches the XML raw.
 */
export type NsVerb = { verb: 'Say'; text: string } | { verb: 'Hangup' };

/** Characters XML 1.0 cannot carry at all: removed, not escaped. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function nsResponse(verbs: NsVerb[]): string {
  const body = verbs.map((verb) => (verb.verb === 'Say' ? `<Say>${escapeXml(verb.text)}</Say>` : '<Hangup/>')).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${body}</Response>\n`;
}
