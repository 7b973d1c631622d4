// The money commands, one file each (parse, locks, apply, and the function below that submits
// it to the posting engine): what the services call. The hold sweeper is ../hold-sweeper.ts.
export { deposit } from "./deposit";
export { withdraw } from "./withdraw";
export { transfer, type TransferInput } from "./transfer";
export { batchTransfer, type BatchItemResult, type BatchTransferInput } from "./batch-transfer";
export { createHold, type CreateHoldInput } from "./hold";
export { captureHold, type CaptureHoldInput } from "./capture";
export { releaseHold, type ReleaseHoldInput } from "./release";
export { reverseTransaction, type ReverseInput } from "./reverse";
export type { MoneyInput, MoveInput } from "./settlement";
