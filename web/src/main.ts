// Entry point of the console bundle: reads the currency list the server put in the page and
// starts the console against the origin that served it.
import { BankConsole } from "./console";
import { Currencies } from "./format";
import { parseCurrencyList } from "./money";

const meta = document.querySelector<HTMLMetaElement>('meta[name="bank-currencies"]');
const currencies = Currencies.fromPage(meta?.content, parseCurrencyList);
new BankConsole(window.location.origin, currencies).start();
