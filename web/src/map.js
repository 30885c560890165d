// Leaflet maps whose base layer is the grid polygons themselves (offline); a tile server is
// added only when the deployment configured one (WHISTLE_MAP_TILE_URL → <meta>).
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { cached } from './api.js'

export function tileUrl() {
  const meta = document.querySelector('meta[name="whistle-tile-url"]')
  const url = meta ? meta.content : ''
  return url && !url.startsWith('__') ? url : ''
}

export function makeMap(el) {
  const map = L.map(el, { attributionControl: false, zoomSnap: 0.25, preferCanvas: false })
  const url = tileUrl()
  if (url) L.tileLayer(url, { subdomains: '01234567', maxZoom: 18 }).addTo(map)
  return map
}

// Every node with its polygon, from the jurisdiction tree in the caller's scope.
export async function polygons(level = 'grid') {
  const tree = await cached('/jurisdictions?include_geometry=true')
  const out = []
  const walk = (node) => {
    if (node.level === level && node.geometry) out.push(node)
    ;(node.children || []).forEach(walk)
  }
  tree.forEach(walk)
  return out
}

export function geoLayer(node, style) {
  return L.geoJSON({ type: 'Feature', geometry: node.geometry, properties: { code: node.code } }, { style })
}

export { L }
