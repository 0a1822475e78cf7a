/** The programmatic surface bundled as dist/api.js for tests and scripts (not shipped in the vsix). */
export * from './analysis';
export * from './facts/terms';
export { renderEffect, formatTablesText, formatFactsText } from './cli/format';
export { normalize } from './syntax/normalize';
export { initParser, parserInfo, parserBackend, parseC, reparseC, treeSexp, releaseTree, textEdit } from './syntax';
export { KERNEL_KNOWLEDGE } from './knowledge/kernel';
export { applyConfig } from './knowledge/config';
export { compileKnowledge } from './facts/extract';
export type * from './facts/types';
export { buildModel, providerOf, variantsOf, atomOf } from './sim/build';
export { scanFunctions } from './facts/scan';
export { simulate, searchKey, DEFAULT_SIM_OPTIONS } from './sim/explore';
export { checkIndex, worthSimulating } from './check';
export { RULES, RULE_IDS } from './rules/index';
export { fixesFor, applyEdits, unifiedDiff } from './fixes/index';
export { traceSvg } from './sim/diagram';
export { KbuildReader, type KbuildIO } from './index/kbuild';
export { parseKbuild, buildOf, kconfigType } from './knowledge/kbuild';
