// The quick check and the dialling of a picked country, against the libphonenumber metadata the server
// validates with (its `max` build, as packages/server/src/guards/phone-policy.ts), for every country it
// knows: the check must never refuse a number the server would take, and a national number dialled as
// + calling code + digits must read as that number. The countries are built as /widget-config builds
// them (packages/server/src/routes/widget.ts, whose output its tests pin).
import { expect } from '@esm-bundle/chai';
import {
  getCountries,
  getCountryCallingCode,
  getExampleNumber,
  Metadata,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import type { DialCountry } from '../src/api.js';
import { dialledNumber, isPlausibleIn } from '../src/validate.js';

function dialCountry(code: CountryCode): DialCountry {
  const metadata = new Metadata();
  metadata.selectNumberingPlan(code);
  return {
    code,
    callingCode: getCountryCallingCode(code),
    example: getExampleNumber(code, examples)?.formatNational(),
    lengths: metadata.numberingPlan?.possibleLengths() ?? [],
  };
}

describe('dialling a picked country, for every country libphonenumber knows', () => {
  it("takes each country's example number, national or international, and dials it as the server reads it", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const code of getCountries()) {
      const country = dialCountry(code);
      const example = getExampleNumber(code, examples);
      if (!example || !country.example) continue;
      const international = example.formatInternational();
      for (const typed of [country.example, international, international.replace('+', '00')]) {
        if (!isPlausibleIn(typed, country)) problems.push(`${code}: ${typed} refused by the quick check`);
        const read = parsePhoneNumberFromString(dialledNumber(typed, country), 'US');
        if (read?.number !== example.number || !read.isValid())
          problems.push(`${code}: ${typed} dialled as ${dialledNumber(typed, country)}, read as ${read?.number}`);
        checked += 1;
      }
    }
    expect(problems).to.deep.equal([]);
    // Every country libphonenumber has an example for: about 245 of them, three ways each.
    expect(checked).to.be.greaterThan(600);
  });

  it("refuses a national number shorter than the country's shortest, or longer than its longest plus a prefix", () => {
    const france = dialCountry('FR');
    expect(isPlausibleIn('06 12 34 56', france)).to.equal(false);
    expect(isPlausibleIn('6 12 34 56 78', france)).to.equal(true);
    expect(isPlausibleIn('06 12 34 56 78 901', france)).to.equal(false);
    expect(isPlausibleIn('+33 6', france)).to.equal(false);
    expect(isPlausibleIn('06 12 34 56 78; DROP', france)).to.equal(false);
    expect(isPlausibleIn('06+12 34 56 78', france)).to.equal(false);
  });
});
