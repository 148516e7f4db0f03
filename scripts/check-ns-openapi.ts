// Development check: does the NS sandbox's idea of each v2 request body (the same rules the client's
// tests are held to) agree with NetSapiens' published OpenAPI file? Not part of `npm test`, because a
// user's clone does not have the file. Run it while changing the client or the sandbox:
//
//   npx tsx --conditions=@beckon/source scripts/check-ns-openapi.ts ../shared/reference/netsapiens-openapi-v45.json
import { readFileSync } from 'node:fs';
import { BODY_SCHEMAS } from '../packages/ns-client/src/sandbox/schemas.js';

interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: string[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  readOnly?: boolean;
}
interface OpenApi {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

/** Differences we make on purpose, each with its reason (they are printed, not failed on). */
const DELIBERATE: Record<string, string> = {
  'tokens.password required mfa_vendor,mfa_type,passcode,ns_id_type,access_token': 'the spec merges the MFA grant into the password grant',
  'dialrules.create enum dial-rule-application': 'the spec names no To-Web application; clusters take the raw responder (sip:0@Web-Main)',
  'dialrules.update enum dial-rule-application': 'as for create',
  'answerrules.create required is-active': 'read-only field listed as required: a spec bug',
  'answerrules.update required is-active': 'read-only field listed as required: a spec bug',
};

const file = process.argv[2] ?? '../shared/reference/netsapiens-openapi-v45.json';
const spec = JSON.parse(readFileSync(file, 'utf8')) as OpenApi & Record<string, unknown>;

function resolve(schema: JsonSchema | undefined): JsonSchema {
  let current = schema ?? {};
  while (current.$ref) {
    let target: unknown = spec;
    for (const part of current.$ref.replace(/^#\//, '').split('/')) target = (target as Record<string, unknown>)[part];
    current = target as JsonSchema;
  }
  return current;
}

let failures = 0;
const report = (key: string, detail: string) => {
  const reason = DELIBERATE[key];
  if (reason) console.log(`  ok (deliberate) ${key}: ${reason}`);
  else {
    failures++;
    console.log(`  MISMATCH ${key}: ${detail}`);
  }
};

for (const [name, rules] of Object.entries(BODY_SCHEMAS)) {
  for (const { method, path } of rules.openapi) {
    const operation = spec.paths[path]?.[method];
    const body = resolve(operation?.requestBody?.content?.['application/json']?.schema);
    if (!operation || !body.properties) {
      report(`${name} missing`, `${method.toUpperCase()} ${path} has no JSON body in the spec`);
      continue;
    }
    console.log(`${name} ↔ ${method.toUpperCase()} ${path}`);
    const specRequired = new Set(body.required ?? []);
    const ours = new Set<string>(rules.required);
    const notRequiredByUs = [...specRequired].filter((field) => !ours.has(field));
    if (notRequiredByUs.length) report(`${name} required ${notRequiredByUs.join(',')}`, 'required by the spec, not by the sandbox');
    const extra = [...ours].filter((field) => !specRequired.has(field));
    if (extra.length) report(`${name} stricter ${extra.join(',')}`, 'required by the sandbox, not by the spec');
    for (const [field, rule] of Object.entries(rules.properties) as [string, { enum?: readonly string[] }][]) {
      const specField = body.properties[field] ? resolve(body.properties[field]) : undefined;
      if (!specField) {
        report(`${name} unknown ${field}`, 'not a property in the spec');
        continue;
      }
      const specEnum = specField.enum;
      if (specEnum && !rule.enum) report(`${name} enum ${field}`, `the spec limits it to ${specEnum.length} values; the sandbox does not`);
      if (rule.enum && specEnum && rule.enum.some((value) => !specEnum.includes(value))) {
        report(
          `${name} enum ${field}`,
          `the sandbox allows values the spec does not: ${rule.enum.filter((value) => !specEnum.includes(value)).join(', ')}`,
        );
      }
    }
  }
}
console.log(failures ? `\n${failures} mismatch(es)` : '\nThe sandbox agrees with the spec (deliberate differences listed above).');
process.exitCode = failures ? 1 : 0;
