// grpc-status.ts — the one place that turns a failure into a gRPC status, as server/reply.ts does
// for HTTP: the same message as the REST answer, the code as Triton maps its errors (invalid
// argument, not found, unavailable, resource exhausted, deadline exceeded), and trailers with the
// stable infergate code and, where REST sends Retry-After, gRPC's retry pushback (gRFC A6).
// https://github.com/grpc/grpc/blob/master/doc/statuscodes.md
// https://github.com/grpc/proposal/blob/master/A6-client-retries.md (grpc-retry-pushback-ms)

import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { GatewayError, toGatewayError } from '../errors.ts';

// Codes whose gRPC status is not the one their HTTP status gives.
const byCode: Partial<Record<string, Status>> = {
  client_closed: Status.CANCELLED,
  deadline_exceeded: Status.DEADLINE_EXCEEDED,
  // Nothing reached the backend, or it refused the work: a later try may succeed.
  backend_unreachable: Status.UNAVAILABLE,
  // The backend failed at the work (it may have run): not retryable as UNAVAILABLE would say.
  backend_error: Status.INTERNAL,
  backend_bad_reply: Status.INTERNAL,
  transform_failed: Status.INTERNAL,
  // gRPC's own word for a message past the size limit.
  payload_too_large: Status.RESOURCE_EXHAUSTED,
  response_too_large: Status.RESOURCE_EXHAUSTED,
  method_not_allowed: Status.UNIMPLEMENTED,
  not_acceptable: Status.FAILED_PRECONDITION,
};

/** grpcCodeOf gives the gRPC status code of a GatewayError. */
export function grpcCodeOf(e: GatewayError): Status {
  const own = byCode[e.code];
  if (own !== undefined) return own;
  const s = e.status;
  if (s === 401) return Status.UNAUTHENTICATED;
  if (s === 403) return Status.PERMISSION_DENIED;
  if (s === 404) return Status.NOT_FOUND;
  if (s === 429) return Status.RESOURCE_EXHAUSTED;
  if (s === 503) return Status.UNAVAILABLE;
  if (s === 504) return Status.DEADLINE_EXCEEDED;
  if (s >= 400 && s < 500) return Status.INVALID_ARGUMENT;
  return Status.INTERNAL;
}

/** grpcStatusOf gives the status a failed call ends with, and the GatewayError it came from. */
export function grpcStatusOf(err: unknown): { status: Partial<StatusObject>; error: GatewayError } {
  const e = err instanceof GatewayError ? err : toGatewayError(err);
  const metadata = new Metadata();
  metadata.set('infergate-code', e.code);
  if (e.retryAfter !== undefined) metadata.set('grpc-retry-pushback-ms', String(Math.round(e.retryAfter * 1000)));
  return { status: { code: grpcCodeOf(e), details: e.message, metadata }, error: e };
}
