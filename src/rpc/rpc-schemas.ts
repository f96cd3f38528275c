/** Argument schemas shared by the compute and conductor RPC APIs. */
import { Type } from '@sinclair/typebox';

export const FlavorSchema = Type.Object({
  id: Type.String(), name: Type.String(), vcpus: Type.Integer({ minimum: 1 }),
  memoryMb: Type.Integer({ minimum: 1 }), diskGb: Type.Integer({ minimum: 0 }),
});

export const InstanceRefSchema = Type.Object({
  uuid: Type.String({ minLength: 1 }), name: Type.String(), flavor: FlavorSchema,
  // Optional on the wire: a conductor older than this field sends none, and the compute uses its default image.
  imageRef: Type.Optional(Type.String()),
});

export const HostDescriptorSchema = Type.Object({
  host: Type.String({ minLength: 1 }), hostIp: Type.String(), hypervisorType: Type.String(),
  hypervisorVersion: Type.Integer(), cpuModel: Type.String(), cpuFeatures: Type.Array(Type.String()),
  rpcVersion: Type.String(),
});

export const GuestSpecSchema = Type.Object({
  uuid: Type.String({ minLength: 1 }), name: Type.String(), vcpus: Type.Integer({ minimum: 1 }),
  memoryMb: Type.Integer({ minimum: 1 }), diskGb: Type.Integer({ minimum: 0 }), imageRef: Type.String(),
});

export const ErrorBodySchema = Type.Object({
  code: Type.String(), message: Type.String(), fields: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/** Every migration step request names its migration and attempt; the compute dedupes on (migration, step). */
export function stepArgs<P extends Record<string, import('@sinclair/typebox').TSchema>>(props: P) {
  return Type.Object({ migrationId: Type.Integer({ minimum: 1 }), attempt: Type.Integer({ minimum: 1 }), instance: InstanceRefSchema, ...props },
    { additionalProperties: true });
}
