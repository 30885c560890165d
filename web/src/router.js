// Screens by role. Which screen a role starts on is a convenience; what each screen shows is
// whatever the API returns for the logged-in user (hiding a link is never the access control).
import { createRouter, createWebHistory } from 'vue-router'
import { session } from './api.js'
import LoginView from './views/LoginView.vue'
import WorkerPost from './views/WorkerPost.vue'
import TicketList from './views/TicketList.vue'
import TicketDetail from './views/TicketDetail.vue'

export const HOME = {
  grid_worker: '/post', department_staff: '/queue', department_lead: '/queue',
  community_dispatcher: '/dispatch', street_dispatcher: '/dispatch', supervisor: '/dashboard',
  admin: '/dashboard', integration: '/tickets',
}

export const router = createRouter({
  history: createWebHistory('/app/'),
  routes: [
    { path: '/', redirect: () => (session.me ? HOME[session.me.role] || '/tickets' : '/login') },
    { path: '/login', component: LoginView, meta: { title: '登录', public: true } },
    { path: '/password', component: () => import('./views/PasswordView.vue'), meta: { title: '修改密码' } },
    { path: '/post', component: WorkerPost, meta: { title: '上报事件' } },
    { path: '/tickets', component: TicketList, meta: { title: '我的工单' } },
    { path: '/tickets/:id', component: TicketDetail, props: true, meta: { title: '工单详情' } },
    { path: '/queue', component: () => import('./views/DeptQueue.vue'), meta: { title: '部门工作台' } },
    { path: '/whistles', component: () => import('./views/WhistleList.vue'), meta: { title: '吹哨报到' } },
    { path: '/dispatch', component: () => import('./views/DispatchDesk.vue'), meta: { title: '调度台' } },
    { path: '/dashboard', component: () => import('./views/DashboardView.vue'), meta: { title: '领导驾驶舱' } },
    { path: '/:rest(.*)', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (!to.meta.public && !session.me) return { path: '/login', query: { next: to.fullPath } }
  // Until an initial password is changed, the API allows nothing else.
  if (session.me && session.me.must_change_password && to.path !== '/password') return { path: '/password' }
})
router.afterEach((to) => { document.title = `${to.meta.title || ''} · 吹哨` })
