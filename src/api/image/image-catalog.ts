/**
 * The images the Glance subset serves: the ones the embedded drivers boot. The fake driver boots any
 * image; the qemu driver maps an image reference to a guest workload (qemu-config `images`).
 */

export interface ImageRecord {
  readonly id: string;
  readonly name: string;
  readonly diskFormat: string;
  readonly containerFormat: string;
  readonly sizeBytes: number;
  readonly minDiskGb: number;
  readonly minRamMb: number;
  readonly createdAt: string;
}

export const DEFAULT_IMAGES: readonly ImageRecord[] = [
  { id: '8c1b9a52-4d1c-4b7e-9a8e-2f0d3c6b1a01', name: 'cirros', diskFormat: 'qcow2', containerFormat: 'bare', sizeBytes: 21_430_272,
    minDiskGb: 0, minRamMb: 0, createdAt: '2024-01-01T00:00:00Z' },
  { id: '5f0e7a3d-9b2c-4e61-8d4f-7a1c2e3b4d02', name: 'baton-test-guest', diskFormat: 'raw', containerFormat: 'bare', sizeBytes: 8_388_608,
    minDiskGb: 0, minRamMb: 256, createdAt: '2024-01-01T00:00:00Z' },
];

/** An image by id, or by name (the embedded demo boots its instances with imageRef "cirros"). */
export function findImage(images: readonly ImageRecord[], ref: string): ImageRecord | undefined {
  return images.find((i) => i.id === ref) ?? images.find((i) => i.name === ref);
}
