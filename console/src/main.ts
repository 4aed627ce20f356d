// SPDX-License-Identifier: Apache-2.0
// Starts the console: Pinia, the router, the theme, and what happens when the session is lost
// (a refresh refused): back to Login with a toast.
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { makeRouter } from './router'
import { api } from './api/client'
import { useSession } from './stores/session'
import { useScope } from './stores/scope'
import { useTheme } from './stores/theme'
import { useToasts } from './stores/toasts'
import './styles.css'

const app = createApp(App)
app.use(createPinia())
const router = makeRouter()
app.use(router)

useTheme().init()
const session = useSession()
session.bind()
api.onAuthLost(() => {
  session.lost()
  useScope().reset()
  const here = router.currentRoute.value
  if (here.name !== 'login') {
    useToasts().push('info', 'Your session has ended; please sign in again.')
    void router.push({ name: 'login', query: { redirect: here.fullPath } })
  }
})

app.mount('#app')
