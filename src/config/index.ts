export { loadConfig, parseConfigText, defaultConfigId, type LoadOptions, type LoadResult } from './load.js';
export { ConfigError } from './lexer.js';
export * from './model.js';
