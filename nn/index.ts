// The nn package's Node entry: the portable surface (web.ts) plus checkpoint and safetensors files.
import '../engine/platform_node.js';

export * from './web.js';
export * from './safetensors_file.js';
export * from './checkpoint_file.js';
export * from './image_folder.js';
