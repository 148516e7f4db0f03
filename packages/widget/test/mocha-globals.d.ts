// The test runner provides Mocha's BDD globals; these are the ones the tests use.
type MochaCallback = () => void | Promise<void>;
declare function describe(title: string, body: () => void): void;
declare function it(title: string, body: MochaCallback): void;
declare function beforeEach(body: MochaCallback): void;
declare function afterEach(body: MochaCallback): void;
