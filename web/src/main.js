import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router.js'
import { restore } from './api.js'
import './style.css'

restore().then(() => createApp(App).use(router).mount('#app'))
