// An independent OpenID4VCI 1.0 wallet for orgbook's tests: the TypeScript client
// @openid4vc/openid4vci (npm), not orgbook's code. Offer to credential, pre-authorised code flow:
//
//   node wallet.mjs 'openid-credential-offer://?credential_offer_uri=…' [PIN]
//
// resolves the offer, fetches the issuer's metadata, gets an access token with the
// pre-authorised code (and the PIN, if given), asks the nonce endpoint for a c_nonce, signs the
// proof of possession (openid4vci-proof+jwt, EdDSA) with a fresh Ed25519 key of its own named
// by its did:key, and requests each offered credential. Prints one JSON object on stdout:
// {did, seed (hex, so the test can present with the same key), offer, metadata, credentials}.
// Exits 1 with the error on stderr when any step fails.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'

import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'

const [link, pin] = process.argv.slice(2)
if (!link) {
  console.error('usage: node wallet.mjs OFFER_LINK [PIN]')
  process.exit(2)
}
// The test server is plain HTTP on 127.0.0.1.
setGlobalConfig({ allowInsecureUrls: true })

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58btc(bytes) {
  let value = BigInt('0x' + Buffer.from(bytes).toString('hex'))
  let out = ''
  while (value > 0n) {
    out = BASE58[Number(value % 58n)] + out
    value /= 58n
  }
  for (const byte of bytes) {
    if (byte !== 0) break
    out = '1' + out
  }
  return out
}

const b64url = (data) => Buffer.from(data).toString('base64url')

// The wallet's own key: Ed25519, as a did:key (multicodec ed25519-pub 0xed01).
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const publicJwk = publicKey.export({ format: 'jwk' })
const raw = Buffer.from(publicJwk.x, 'base64url')
const multikey = 'z' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]))
const did = `did:key:${multikey}`
const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url').toString('hex')

const callbacks = {
  fetch,
  hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  generateRandom: (length) => randomBytes(length),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'did' || signer.alg !== 'EdDSA') {
      throw new Error(`this wallet signs with its did:key only, not ${signer.method}`)
    }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
    const signature = sign(null, Buffer.from(input), privateKey)
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: publicJwk }
  },
}

try {
  const client = new Openid4vciClient({ callbacks })
  const offer = await client.resolveCredentialOffer(link)
  const metadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata: metadata,
    txCode: pin,
  })
  const credentials = []
  for (const configurationId of offer.credential_configuration_ids) {
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata: metadata })
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata: metadata,
      credentialConfigurationId: configurationId,
      nonce,
      signer: { method: 'did', didUrl: `${did}#${multikey}`, alg: 'EdDSA' },
    })
    const response = await client.retrieveCredentials({
      issuerMetadata: metadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configurationId,
      proofs: { jwt: [jwt] },
    })
    for (const item of response.credentialResponse.credentials ?? []) {
      credentials.push({ configurationId, credential: item.credential })
    }
  }
  process.stdout.write(
    JSON.stringify({ did, seed, offer, metadata: metadata.credentialIssuer, credentials }) + '\n'
  )
} catch (error) {
  console.error(error?.stack ?? String(error))
  if (error?.response) console.error(JSON.stringify(error.response))
  if (error?.errorResponse) console.error(JSON.stringify(error.errorResponse))
  process.exit(1)
}
