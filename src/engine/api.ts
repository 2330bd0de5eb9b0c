/**
 * What the VS Code extension loads from the engine bundle (dist/engine.js), on demand: the extension's
 * own bundle stays small so activation never waits on sql.js or the price catalogue.
 */
export { DatabaseUnreadableError } from './database';
export { Engine, type EngineOptions } from './engine';
export { listPrices, nanosToUsd, priceUsage, resolveModel } from './pricing';
export { RouteTable, RouteTableError } from './providers';
export { describePrices, refreshPriceData, storedPriceDataInfo, PriceRefreshError } from './pricing';
