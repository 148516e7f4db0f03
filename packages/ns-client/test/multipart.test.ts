import test from 'ava';
import { encodeMultipart } from '../src/transport.js';

/** The encoding `new Response(FormData)` gives, which the transport used before it encoded forms itself. */
async function viaFormData(fields: Record<string, string>): Promise<{ text: string; boundary: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const encoded = new Response(form);
  const boundary = /boundary=(.+)$/.exec(encoded.headers.get('content-type') ?? '')?.[1] ?? '';
  return { text: await encoded.text(), boundary };
}

test('a form encoded straight to a Buffer is byte for byte what FormData gives, but for the boundary', async (t) => {
  const forms: Record<string, string>[] = [
    { format: 'json', uid: '9002@example.com', queue: '9002@example.com', destination: '+18135551234' },
    // Line breaks of every kind, quotes and non-ASCII in names and values; an empty value.
    { 'na"me\nwith\rbreaks': 'one\ntwo\r\nthree\rfour', message: 'Thanks — call us: "any time" ✓', empty: '' },
    {},
  ];
  for (const fields of forms) {
    const ours = encodeMultipart(fields);
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(ours.contentType)?.[1];
    if (!boundary) return t.fail(`no boundary in ${ours.contentType}`);
    const theirs = await viaFormData(fields);
    t.is(ours.body.toString('utf8').split(boundary).join('<boundary>'), theirs.text.split(theirs.boundary).join('<boundary>'));
  }
});

test('every form gets a boundary of its own', (t) => {
  const fields = { destination: '+18135551234' };
  t.not(encodeMultipart(fields).contentType, encodeMultipart(fields).contentType);
});
