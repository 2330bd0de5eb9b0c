/** Attribution's public face: tags, the client that made a call, key fingerprints. */
export { identifyClient } from './clientIdentity';
export { KeyFingerprinter, findApiKey, findSubprotocolKey } from './keyFingerprint';
export { TagError, headerTags, isTagHeader, takePathTags, type Tags } from './tags';
