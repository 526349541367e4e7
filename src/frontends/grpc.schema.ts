// grpc.schema.ts — the `frontends.grpc` block, apart from the routes (grpc.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { duration, size } from '../config/units.ts';

const port = z.coerce.number().int().min(0).max(65535);



/** grpcSchema is the `frontends.grpc` block. */
export const grpcSchema = z.strictObject({
  port: port.default(8081).describe('gRPC port (HTTP/2, plaintext: TLS ends at the platform\'s load balancer or mesh); a platform that names one is read with ${VAR:-8081}.'),
  host: z.string().optional().describe('Address to listen on; default server.host.'),
  repository: z.boolean().default(false).describe(
    'Serve RepositoryModelLoad and RepositoryModelUnload (behind server.adminToken when set, as "authorization: Bearer" metadata); RepositoryIndex is always served.'),
  maxResponseBytes: size.prefault('64mb').describe('Largest answer message; a larger one ends with RESOURCE_EXHAUSTED, never cut. The largest request message is server.maxBodyBytes.'),
  maxConcurrentStreams: z.coerce.number().int().min(1).max(10_000).default(100).describe(
    'Calls open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). A client that opens more waits for a free one instead of ' +
    'making the gateway hold unbounded work per connection; 100 is what most gRPC servers and proxies advertise. The whole gateway is bounded by server.maxConcurrentRequests too.'),
  keepaliveTimeMs: duration.prefault('60s').describe(
    'The gateway pings a connection idle this long, so connections whose client vanished (a killed pod, a NAT that forgot the flow) are closed rather than held forever; 0 = no pings.'),
  keepaliveTimeoutMs: duration.prefault('20s').describe('A ping not answered within this time closes the connection.'),
  maxConnectionAgeMs: duration.prefault('0s').describe(
    'When above 0, a connection is asked to go away (GOAWAY) after this long and the client reconnects: behind a Kubernetes Service (L4), ' +
    'this spreads long-lived HTTP/2 connections over new replicas after a scale-up. 0 = never (a sidecar has one client).'),
  maxConnectionAgeGraceMs: duration.prefault('30s').describe('After maxConnectionAgeMs, how long calls still open may finish before the connection is closed.'),
}).describe('KServe v2 / Open Inference Protocol over gRPC (inference.GRPCInferenceService) on its own port, with grpc.health.v1.Health.');

/** GrpcConfig is the parsed `frontends.grpc` block. */
export type GrpcConfig = z.infer<typeof grpcSchema>;
