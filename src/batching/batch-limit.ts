// batch-limit.ts — the backend's own limit on rows per call (Triton max_batch_size, ONNX dim 0),
// learned from the model's metadata on the first call: a configured override wins, a fetch that
// fails is tried again on the next call, and metadata without a limit means no limit (Infinity).
// 0 means the model cannot batch at all (batcher.ts then sends its requests straight on).

import type { ModelEndpoint } from '../types.ts';

/** BatchLimit is one target's backend batch limit, once known. */
export class BatchLimit {
  #endpoint: Pick<ModelEndpoint, 'metadata'>;
  #value: number | undefined;

  /** override is the model's configured metadata.maxBatchSize; when set, nothing is asked. */
  constructor(endpoint: Pick<ModelEndpoint, 'metadata'>, override?: number) {
    this.#endpoint = endpoint;
    this.#value = override;
  }

  /** value is the limit, undefined until known. */
  get value(): number | undefined {
    return this.#value;
  }

  /** learn asks the backend's metadata for the limit; on failure it stays unknown. */
  async learn(signal: AbortSignal): Promise<void> {
    try {
      this.#value = (await this.#endpoint.metadata(signal)).maxBatchSize ?? Infinity;
    } catch {
      // Unknown for now (the call itself will say why it fails); asked again next time.
    }
  }
}
