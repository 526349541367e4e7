// The config keys of multi-model serving: a SageMaker block needs a default model unless it is a
// multi-model endpoint, which needs a dynamicModels block; dynamicModels names a configured backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/config/load.ts';
import { parseConfig } from '../src/schema.ts';

const backends = 'backends: { mme: { type: onnx, modelRepository: /opt/ml/models } }\n';

function refused(yaml: string, pattern: RegExp): void {
  assert.throws(() => parseConfig(yaml, 'c.yaml'), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), yaml);
}

test('a multi-model endpoint needs dynamicModels; a plain SageMaker block needs its model', () => {
  refused(`frontends: { sagemaker: {} }\n${backends}models: {}\n`, /frontends\.sagemaker\.model.*multiModel: true/s);
  refused(`frontends: { sagemaker: { multiModel: true } }\n${backends}models: {}\n`, /add a dynamicModels block/);
  refused(`frontends: { sagemaker: { multiModel: true } }\n${backends}dynamicModels: { backend: nope }\nmodels: {}\n`, /dynamicModels\.backend.*unknown backend "nope"/s);
  refused(`frontends: { sagemaker: { multiModel: true } }\nbackends: { t: { type: triton, url: "http://127.0.0.1:8000" } }\ndynamicModels: { backend: t }\nmodels: {}\n`, /\(type triton\) does not load models itself/);
  const c = parseConfig(`frontends: { sagemaker: { multiModel: true } }\n${backends}dynamicModels: { backend: mme, maxModelsMemory: 2gb, template: { timeoutMs: 5s } }\nmodels: {}\n`, 'c.yaml');
  assert.equal(c.dynamicModels!.maxModelsMemory, 2 * 1024 ** 3);
  assert.equal(c.dynamicModels!.whenFull, 'evict');
  assert.equal(c.dynamicModels!.template.timeoutMs, 5000);
  assert.equal(c.server.modelLoadErrors, 'exit');
  assert.equal(c.server.readyWhen, 'all');
  refused(`${backends}dynamicModels: { backend: mme, template: { targets: [] } }\nmodels: {}\n`, /targets/);
});

test('onnx version policies: latest N, specific, all; anything else is refused', () => {
  const ok = parseConfig(`backends: { m: { type: onnx, modelRepository: /m, versionPolicy: all, versions: { a: { latest: 2 }, b: ["1", "3"], c: { specific: [2] } } } }\nmodels: {}\n`, 'c.yaml');
  assert.equal((ok.backends.m as unknown as { versionPolicy: unknown }).versionPolicy, 'all');
  refused(`backends: { m: { type: onnx, modelRepository: /m, versionPolicy: { latest: 0 } } }\nmodels: {}\n`, /versionPolicy/);
  refused(`backends: { m: { type: onnx, modelRepository: /m, versions: { a: { newest: 1 } } } }\nmodels: {}\n`, /versions/);
});
