import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface WidgetAsset {
  body: Buffer;
  etag: string;
  /** Its Content-Type: a bundle is JavaScript, its source map JSON. */
  type: string;
}

/** The widget's CDN bundles this server hands to pages, read once at start-up. */
export interface WidgetBundle {
  /** `<call-us-button>` as an ES module. */
  esm: WidgetAsset;
  /** `<call-us-button>` as a classic script (what the `/widget.js` loader injects). */
  iife: WidgetAsset;
  /** `<call-popup>` as an ES module. */
  popup: WidgetAsset;
  /** Each bundle's source map, served beside it (`//# sourceMappingURL` names it relative to the bundle). */
  maps: { esm: WidgetAsset; iife: WidgetAsset; popup: WidgetAsset };
  /** A content hash of the three bundles: URLs carrying it can be cached for a year. */
  version: string;
}

/**
 * Reads the bundle from `@beckon/widget`'s `cdn/` folder (or `dir`). Undefined when it has not been
 * built: the routes then say so instead of failing.
 */
export function loadWidgetBundle(dir?: string): WidgetBundle | undefined {
  try {
    const folder = dir ?? join(dirname(createRequire(import.meta.url).resolve('@beckon/widget/package.json')), 'cdn');
    const asset = (file: string, type: string): WidgetAsset => {
      const body = readFileSync(join(folder, file));
      return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    };
    const script = (file: string) => asset(file, 'application/javascript');
    const map = (file: string) => asset(`${file}.map`, 'application/json');
    const esm = script('call-us-button.js');
    const iife = script('call-us-button.iife.js');
    const popup = script('call-popup.js');
    const maps = { esm: map('call-us-button.js'), iife: map('call-us-button.iife.js'), popup: map('call-popup.js') };
    const version = createHash('sha256').update(esm.body).update(iife.body).update(popup.body).digest('hex').slice(0, 12);
    return { esm, iife, popup, maps, version };
  } catch {
    return undefined;
  }
}
