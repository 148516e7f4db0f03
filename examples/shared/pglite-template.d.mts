/** Copies an empty, initialised PGlite database (made once per machine, under node_modules/.cache) into `dir`, e.g. `DATA_DIR/pglite`. */
export declare function copyEmptyPglite(dir: string): Promise<void>;
