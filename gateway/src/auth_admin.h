/* auth_admin: the admins' routes under /api/auth: users and API keys
 * (permission manage_users, decided by the gate). */
#ifndef GATEWAY_AUTH_ADMIN_H
#define GATEWAY_AUTH_ADMIN_H

#include "web.h"

int auth_admin_users_list(web_req *r);
int auth_admin_users_create(web_req *r);
int auth_admin_users_update(web_req *r);
int auth_admin_users_delete(web_req *r);
int auth_admin_keys_list(web_req *r);
int auth_admin_keys_create(web_req *r);
int auth_admin_keys_revoke(web_req *r);

#endif
