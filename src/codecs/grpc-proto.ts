// grpc-proto.ts — the gRPC service definitions infergate speaks, read once from the .proto files
// beside this one with @grpc/proto-loader (the one file that uses it): the Open Inference
// Protocol's GRPCInferenceService and the standard grpc.health.v1.Health. The frontend serves
// them and the Triton backend calls the first; both read messages in the form v2-grpc.ts expects.

import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type ServiceDefinition } from '@grpc/proto-loader';

const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));

// The message form v2-grpc.ts reads: field names as written in the .proto, 64-bit integers as
// decimal strings (no precision lost past 2^53), bytes as Buffers, empty lists and maps present,
// and a oneof's name set to the field it holds (InferParameter.parameter_choice).
const options: Options = { keepCase: true, longs: String, enums: String, defaults: false, arrays: true, objects: true, oneofs: true };

const inference = loadSync(`${protoDir}grpc_predict_v2.proto`, options);
const health = loadSync(`${protoDir}health.proto`, options);

/** inferenceService is inference.GRPCInferenceService, method by method (paths, serializers). */
export const inferenceService = inference['inference.GRPCInferenceService'] as ServiceDefinition;

/** healthService is grpc.health.v1.Health. */
export const healthService = health['grpc.health.v1.Health'] as ServiceDefinition;
