/** Pricing's public face: the price data, usage × price in nano-dollars, repricing, unknown-model announcements, user prices, what-if prices. */
export { costExchange } from './costing';
export { repriceUnpricedModel, type ModelRepriceResult } from './modelReprice';
export { DEFAULT_PRICE_DATA_URL, PriceRefreshError, describePrices, loadStoredPriceData, priceDataFile, refreshPriceData, storedPriceDataInfo, watchStoredPriceData, type PriceDataInfo } from './priceData';
export { buildPriceFormula } from './priceFormula';
export { priceLibraryLoaded } from './priceLibrary';
export { BUNDLED_OVERRIDES_SOURCE, PRICE_CATALOGUE_DATE, PRICE_CATALOGUE_VERSION, USER_OVERRIDES_SOURCE, baseRates, currentCatalogueVersion, listPrices, nanosToUsd, priceUsage, resolveModel, setPriceOverrides, tokensToNanos, usdToNanos, type CostStatus, type PriceRow } from './pricing';
export { applyReprice, repriceRecords, type RepriceResult } from './reprice';
export { UNPRICED_MODELS_FILE, UnpricedModelFile, UnpricedModels, type UnpricedModelState } from './unpricedModels';
export { setUserPrice, userPriceOverridesFile } from './userPriceOverrides';
export { resolveWhatIfModel, sumWhatIf, whatIfNanos, type UsageTotals, type WhatIfCost, type WhatIfModel } from './whatIf';
