// Money for tests, as the API takes it: bigint minor units with an ISO currency. One module, so
// that every test builds amounts the same way (issue 30: a `usd` helper was copied into 14 files).

/** `n` minor units of `currency` (cents for USD: usd(1_050) is 10.50 USD). */
export const money = (currency: string, n: number | bigint) => ({ currency, minorUnits: BigInt(n) });

/** `n` US cents. */
export const usd = (n: number | bigint) => money("USD", n);

/** `n` euro cents. */
export const eur = (n: number | bigint) => money("EUR", n);
