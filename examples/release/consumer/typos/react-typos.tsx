// Mistakes the shipped React typings must refuse: the release test runs tsc on this file with the app
// (tsconfig.typos.json) and expects exactly one error on each element below, whose message includes the
// text after its `error:` marker, and none anywhere else.
import type {} from '@beckon/widget/react';

export const mistakes = [
  <call-us-button endpiont="https://beckon.example.net" />, // error: Property 'endpiont' does not exist
  <call-us-button onCallUsSuccess={() => undefined} />, // error: Property 'onCallUsSuccess' does not exist
  <call-us-button strings={{ submitt: 'Go' }} />, // error: 'submitt' does not exist in type 'Partial<CallUsStrings>'
  <call-popup auto-dismiss="soon" />, // error: Type 'string' is not assignable to type 'number'
  <call-us-button oncall-us-success={(event) => event.detail.phoneNumbr} />, // error: Property 'phoneNumbr' does not exist
];
