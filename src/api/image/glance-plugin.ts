/** A minimal Glance v2 read API: version discovery, GET /v2/images (with ?name=) and GET /v2/images/{id}. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, baseUrl, param, queryParam, type ApiContext } from '../http/api-context.js';
import { PolicyRule } from '../auth/policy-rules.js';
import type { ImageRecord } from './image-catalog.js';

function imageView(i: ImageRecord, owner: string): Record<string, unknown> {
  return {
    id: i.id, name: i.name, status: 'active', visibility: 'public', protected: false, os_hidden: false,
    disk_format: i.diskFormat, container_format: i.containerFormat, size: i.sizeBytes, virtual_size: null,
    min_disk: i.minDiskGb, min_ram: i.minRamMb, checksum: null, os_hash_algo: null, os_hash_value: null, owner,
    tags: [], created_at: i.createdAt, updated_at: i.createdAt,
    self: `/v2/images/${i.id}`, file: `/v2/images/${i.id}/file`, schema: '/v2/schemas/image',
  };
}

function versionsDoc(base: string): Record<string, unknown> {
  const href = `${base}/image/v2/`;
  return { versions: ['v2.9', 'v2.8', 'v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'].map((id, n) => ({
    id, status: n === 0 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href }],
  })) };
}

function imageNotFound(id: string) {
  return { code: 404, title: 'Not Found', message: `No image found with ID ${id.slice(0, 64)}` };
}

export async function glancePlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.get('/image', { schema: { tags: ['image'], summary: 'Image API versions' } }, async (req) => versionsDoc(baseUrl(ctx, req)));
  app.get('/image/versions', { schema: { tags: ['image'], summary: 'Image API versions' } }, async (req) => versionsDoc(baseUrl(ctx, req)));

  app.get('/image/v2/images', { schema: { tags: ['image'], summary: 'List images' } }, async (req: FastifyRequest) => {
    const who = authorize(ctx, req, PolicyRule.IMAGES_GET);
    const name = queryParam(req, 'name');
    const id = queryParam(req, 'id');
    const images = ctx.images.filter((i) => (name === undefined || i.name === name) && (id === undefined || i.id === id));
    return { images: images.map((i) => imageView(i, who.projectId)), first: '/v2/images', schema: '/v2/schemas/images' };
  });

  app.get('/image/v2/images/:id', { schema: { tags: ['image'], summary: 'Show an image' } }, async (req, reply) => {
    const who = authorize(ctx, req, PolicyRule.IMAGES_GET);
    const id = param(req, 'id');
    const image = ctx.images.find((i) => i.id === id);
    if (!image) return reply.code(404).send(imageNotFound(id));
    return imageView(image, who.projectId);
  });
}
