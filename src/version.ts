// ktables' version, as package.json says (checked by a test), without reading package.json at
// every start.
export const VERSION = '0.1.0';
