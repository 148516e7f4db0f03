/** Options for Playwright's `chromium.launch()`; CHROMIUM_PATH says where the browser is, if not /usr/bin/chromium. */
export declare function chromiumLaunchOptions(): { executablePath: string; args: string[] };
