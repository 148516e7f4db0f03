/**
 * The few NetSapiens web-responder verbs Beckon answers with. NetSapiens is not Twilio: there is no
 * `<Dial>` or `<Pause>`. Every text is escaped; nothing from a request or a config reaches the XML raw.
 */
export type NsVerb = { verb: 'Say'; text: string } | { verb: 'Hangup' };

export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
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
