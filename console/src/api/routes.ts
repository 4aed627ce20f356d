// SPDX-License-Identifier: Apache-2.0
// Every host served (Ingresses of the projects the caller sees) with its app and TLS state.
import { api } from './client'
import type { ItemList, RouteView } from './types'

export const listRoutes = async (): Promise<RouteView[]> => (await api.get<ItemList<RouteView>>('/routes')).items
