import type * as GenAiPrices from '@pydantic/genai-prices';

/**
 * The price library (@pydantic/genai-prices), loaded the first time a price is needed. Its bundled
 * catalogue is a ~480 KB object literal that costs ~20 MB of memory once compiled, which an engine
 * that has not priced anything yet (no AI script has run) should not pay.
 */
let loaded: typeof GenAiPrices | undefined;
const onLoad: Array<(library: typeof GenAiPrices) => void> = [];

export function priceLibrary(): typeof GenAiPrices {
  if (!loaded) {
    loaded = require('@pydantic/genai-prices') as typeof GenAiPrices;
    for (const hook of onLoad.splice(0)) hook(loaded);
  }
  return loaded;
}

/** Whether the library has been loaded in this process (for the memory figures in health and the bench). */
export function priceLibraryLoaded(): boolean {
  return loaded !== undefined;
}

/** Runs `hook` when the library loads (at once if it has). */
export function whenPriceLibraryLoads(hook: (library: typeof GenAiPrices) => void): void {
  if (loaded) hook(loaded);
  else onLoad.push(hook);
}
