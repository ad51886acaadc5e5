"""OpenCV's colormap look-up tables, so ``show_cam_on_image`` needs no OpenCV.

Each table is ``cv2.applyColorMap(np.arange(256, dtype=np.uint8), COLORMAP_X)``: 256 BGR
triplets, base64-encoded. Generated from OpenCV 5.0.0 (Apache-2.0) by
``tests/compat/make_colormaps.py``; do not edit by hand.
"""

from __future__ import annotations

import base64

import numpy as np

# OpenCV's colormap ids, in id order (COLORMAP_AUTUMN = 0 ... COLORMAP_DEEPGREEN = 21).
NAMES = (
    "AUTUMN",
    "BONE",
    "JET",
    "WINTER",
    "RAINBOW",
    "OCEAN",
    "SUMMER",
    "SPRING",
    "COOL",
    "HSV",
    "PINK",
    "HOT",
    "PARULA",
    "MAGMA",
    "INFERNO",
    "PLASMA",
    "VIRIDIS",
    "CIVIDIS",
    "TWILIGHT",
    "TWILIGHT_SHIFTED",
    "TURBO",
    "DEEPGREEN",
)

_TABLES = {
    "AUTUMN": (
        "AAD/AAH/AAL/AAP/AAT/AAX/AAb/AAf/AAj/AAn/AAr/AAv/AAz/AA3/AA7/AA//ABD/ABH/ABL/ABP/ABT/ABX/"
        "ABb/ABf/ABj/ABn/ABr/ABv/ABz/AB3/AB7/AB//ACD/ACH/ACL/ACP/ACT/ACX/ACb/ACf/ACj/ACn/ACr/ACv/"
        "ACz/AC3/AC7/AC//ADD/ADH/ADL/ADP/ADT/ADX/ADb/ADf/ADj/ADn/ADr/ADv/ADz/AD3/AD7/AD//AED/AEH/"
        "AEL/AEP/AET/AEX/AEb/AEf/AEj/AEn/AEr/AEv/AEz/AE3/AE7/AE//AFD/AFH/AFL/AFP/AFT/AFX/AFb/AFf/"
        "AFj/AFn/AFr/AFv/AFz/AF3/AF7/AF//AGD/AGH/AGL/AGP/AGT/AGX/AGb/AGf/AGj/AGn/AGr/AGv/AGz/AG3/"
        "AG7/AG//AHD/AHH/AHL/AHP/AHT/AHX/AHb/AHf/AHj/AHn/AHr/AHv/AHz/AH3/AH7/AH//AID/AIH/AIL/AIP/"
        "AIT/AIX/AIb/AIf/AIj/AIn/AIr/AIv/AIz/AI3/AI7/AI//AJD/AJH/AJL/AJP/AJT/AJX/AJb/AJf/AJj/AJn/"
        "AJr/AJv/AJz/AJ3/AJ7/AJ//AKD/AKH/AKL/AKP/AKT/AKX/AKb/AKf/AKj/AKn/AKr/AKv/AKz/AK3/AK7/AK//"
        "ALD/ALH/ALL/ALP/ALT/ALX/ALb/ALf/ALj/ALn/ALr/ALv/ALz/AL3/AL7/AL//AMD/AMH/AML/AMP/AMT/AMX/"
        "AMb/AMf/AMj/AMn/AMr/AMv/AMz/AM3/AM7/AM//AND/ANH/ANL/ANP/ANT/ANX/ANb/ANf/ANj/ANn/ANr/ANv/"
        "ANz/AN3/AN7/AN//AOD/AOH/AOL/AOP/AOT/AOX/AOb/AOf/AOj/AOn/AOr/AOv/AOz/AO3/AO7/AO//APD/APH/"
        "APL/APP/APT/APX/APb/APf/APj/APn/APr/APv/APz/AP3/AP7/AP//"
    ),
    "BONE": (
        "AAAAAQEBAgICBAMDBQQEBgQEBwUFCAYGCgcHCwgIDAkJDQoKDgoKEAsLEQwMEg0NEw4OFQ8PFhAQFxERGBISGRIS"
        "GxMTHBQUHRUVHhYWHxcXIRgYIhgYIxkZJBoaJRsbJxwcKB0dKR4eKh8fKyAgLSAgLiEhLyIiMCMjMiQkMyUlNCYm"
        "NSYmNicnOCgoOSkpOioqOysrPCwsPi0tPy4uQC4uQS8vQjAwRDExRTIyRjMzRzQ0SDQ0SjU1SzY2TDc3TTg4Tzk5"
        "UDo6UTs7Ujw8Uzw8VT09Vj4+Vz8/WEBAWUFBW0JCXEJCXUNDXkREX0VFYUZGYkdHY0hIZElJZklJZ0pKaEtLaUxM"
        "ak1NbE5ObU9PblBQb1BQcFFRcVJSc1NTdFRUdVVVdldWdlhXd1lXeFpYeVtZel1ae15bfF9cfWBdfmFefmNef2Rf"
        "gGVggWZhgmdig2ljhGpkhGtlhWxmhm5mh29niHBoiXFpinJqi3RrjHVsjHZsjXdtjnhuj3pvkHtwkXxxkn1ykn5z"
        "k4B0lIF0lYJ1loN2l4R3mIZ4mYd5moh6mol6m4p7nIx8nY19no5+n49/oJGAoJKBoZOCopSCo5WDpJeEpZiFppmG"
        "p5qHqJuIqJ2IqZ6Jqp+Kq6CLrKGMraONrqSOrqWPr6aQsKiQsamRsqqSs6uTtKyUta6Vtq+WtrCWt7GXuLKYubSZ"
        "urWau7abvLecvLidvbqevruev7yfwL2gwb6hwsCiw8GjxMKkxMOkxcSlxsamx8enyMipycmqysqry8usy8uuzMyv"
        "zc2xzs6yz8+z0NC10dG20tK40tK509O61NS81dW91ta+19fA2NjB2NjD2dnE2trF29vH3NzI3d3J3t7L39/M4ODO"
        "4ODP4eHQ4uLS4+PT5OTU5eXW5ubX5+fY5+fa6Ojb6end6ure6+vf7Ozh7e3i7u7k7u7l7+/m8PDo8fHp8vLq8/Ps"
        "9PTt9PTv9fXw9vbx9/fz+Pj0+fn1+vr3+/v4/Pz6/Pz7/f38/v7+////"
    ),
    "JET": (
        "gAAAhAAAiAAAjAAAkAAAlAAAmAAAnAAAoAAApAAAqAAArAAAsAAAtAAAuAAAvAAAwAAAxAAAyAAAzAAA0AAA1AAA"
        "2AAA3AAA4AAA5AAA6AAA7AAA8AAA9AAA+AAA/AAA/wAA/wQA/wgA/wwA/xAA/xQA/xgA/xwA/yAA/yQA/ygA/ywA"
        "/zAA/zQA/zgA/zwA/0AA/0QA/0gA/0wA/1AA/1QA/1gA/1wA/2AA/2QA/2gA/2wA/3AA/3QA/3gA/3wA/4AA/4QA"
        "/4gA/4wA/5AA/5QA/5gA/5wA/6AA/6QA/6gA/6wA/7AA/7QA/7gA/7wA/8AA/8QA/8gA/8wA/9AA/9QA/9gA/9wA"
        "/+AA/+QA/+gA/+wA//AA//QA//gA//wA/v8C+v8G9v8K8v8O7v8S6v8W5v8a4v8e3v8i2v8m1v8q0v8uzv8yyv82"
        "xv86wv8+vv9Cuv9Gtv9Ksv9Orv9Sqv9Wpv9aov9env9imv9mlv9qkv9ujv9yiv92hv96gv9+fv+Cev+Gdv+Kcv+O"
        "bv+Sav+WZv+aYv+eXv+iWv+mVv+qUv+uTv+ySv+2Rv+6Qv++Pv/COv/GNv/KMv/OLv/SKv/WJv/aIv/eHv/iGv/m"
        "Fv/qEv/uDv/yCv/2Bv/6Af/+APz/APj/APT/APD/AOz/AOj/AOT/AOD/ANz/ANj/ANT/AND/AMz/AMj/AMT/AMD/"
        "ALz/ALj/ALT/ALD/AKz/AKj/AKT/AKD/AJz/AJj/AJT/AJD/AIz/AIj/AIT/AID/AHz/AHj/AHT/AHD/AGz/AGj/"
        "AGT/AGD/AFz/AFj/AFT/AFD/AEz/AEj/AET/AED/ADz/ADj/ADT/ADD/ACz/ACj/ACT/ACD/ABz/ABj/ABT/ABD/"
        "AAz/AAj/AAT/AAD/AAD8AAD4AAD0AADwAADsAADoAADkAADgAADcAADYAADUAADQAADMAADIAADEAADAAAC8AAC4"
        "AAC0AACwAACsAACoAACkAACgAACcAACYAACUAACQAACMAACIAACEAACA"
    ),
    "WINTER": (
        "/wAA/gEA/gIA/gMA/QQA/AUA/AYA/AcA+wgA+gkA+goA+gsA+QwA+A0A+A4A+A8A9xAA9hEA9hIA9hMA9RQA9BUA"
        "9BYA9BcA8xgA8hkA8hoA8hsA8RwA8B0A8B4A8B8A7yAA7iEA7iIA7iMA7SQA7CUA7CYA7CcA6ygA6ikA6ioA6isA"
        "6SwA6C0A6C4A6C8A5zAA5jEA5jIA5jMA5TQA5DUA5DYA5DcA4zgA4jkA4joA4jsA4TwA4D0A4D4A4D8A30AA3kEA"
        "3kIA3kMA3UQA3UUA3EYA3EcA20gA20kA2koA2ksA2UwA2U0A2E4A2E8A11AA11EA1lIA1lMA1VQA1VUA1FYA1FcA"
        "01gA01kA0loA0lsA0VwA0V0A0F4A0F8Az2AAzmEAzmIAzmMAzWQAzGUAzGYAzGcAy2gAymkAymoAymsAyWwAyG0A"
        "yG4AyG8Ax3AAxnEAxnIAxnMAxXQAxHUAxHYAxHcAw3gAwnkAwnoAwnsAwXwAwH0AwH4AwH8Av4AAvoEAvoIAvoMA"
        "vYQAvIUAvIYAvIcAu4gAuokAuooAuosAuYwAuI0AuI4AuI8At5AAtpEAtpIAtpMAtZQAtJUAtJYAtJcAs5gAspkA"
        "spoAspsAsZwAsJ0AsJ4AsJ8Ar6AArqEArqIArqMAraQArKUArKYArKcAq6gAqqkAqqoAqqsAqawAqK0AqK4AqK8A"
        "p7AAprEAprIAprMApbQApLUApLYApLcAo7gAorkAoroAorsAobwAoL0AoL4AoL8An8AAnsEAnsIAnsMAncQAnMUA"
        "nMYAnMcAm8gAmskAmsoAmssAmcwAmM0AmM4AmM8Al9AAltEAltIAltMAldQAlNUAlNYAlNcAk9gAktkAktoAktsA"
        "kdwAkN0AkN4AkN8Aj+AAjuEAjuIAjuMAjeQAjOUAjOYAjOcAi+gAiukAiuoAiusAiewAiO0AiO4AiO8Ah/AAhvEA"
        "hvIAhvMAhfQAhPUAhPYAhPcAg/gAgvkAgvoAgvsAgfwAgP0AgP4AgP8A"
    ),
    "RAINBOW": (
        "AAD/AAL/AAX/AAj/AAr/AAz/AA//ABL/ABT/ABb/ABn/ABv/AB7/ACD/ACP/ACb/ACj/ACr/AC3/ADD/ADL/ADT/"
        "ADf/ADn/ADz/AD7/AEH/AET/AEb/AEj/AEv/AE7/AFD/AFL/AFX/AFj/AFr/AFz/AF//AGL/AGT/AGb/AGn/AGz/"
        "AG7/AHD/AHP/AHX/AHj/AHr/AH3/AID/AIL/AIT/AIf/AIr/AIz/AI7/AJH/AJT/AJb/AJj/AJv/AJ7/AKD/AKL/"
        "AKX/AKj/AKr/AKz/AK//ALL/ALT/ALb/ALn/ALz/AL7/AMD/AMP/AMb/AMj/AMr/AM3/AND/ANL/ANT/ANf/ANr/"
        "ANz/AN//AOH/AOT/AOb/AOj/AOv/AO7/APD/APP/APX/APj/APr/APz/AP38AP74AP70AP/wAP/rAP/mAP/hAP/c"
        "AP/XAP/SAP/NAP/IAP/DAP++AP+5AP+0AP+vAP+qAP+lAP+gAP+bAP+WAP+RAP+MAP+HAP+CAP99AP94AP9zAP9u"
        "AP9pAP9kAP9fAP9aAP9VAP9QAP9LAP9GAP9BAP88AP83AP8yAP8tAP8oAP8jAP8eAP8ZAP8UAP8PAf4LAv0HA/wD"
        "BfoACvUAD/AAFOsAGeYAHuEAI9wAKNcALdIAMs0AN8gAPMMAQb4ARrkAS7QAUK8AVaoAWqUAX6AAZJsAaZYAbpEA"
        "c4wAeIcAfYIAgn0Ah3gAjHMAkW4AlmkAm2QAoF8ApVoAqlUAr1AAtEsAuUYAvkEAwzwAyDcAzTIA0i0A1ygA3CMA"
        "4R4A5hkA6xQA8A8A9QoA+AcB+gUD/AMF/gEH/wAK/wAN/wAR/wAU/wAX/wAb/wAe/wAh/wAl/wAo/wAr/wAv/wAy"
        "/wA1/wA5/wA8/wA//wBD/wBG/wBJ/wBN/wBQ/wBT/wBX/wBa/wBd/wBh/wBk/wBn/wBr/wBu/wBx/wB1/wB4/wB7"
        "/wB//wCC/wCF/wCJ/wCM/wCP/wCT/wCW/wCZ/wCd/wCg/wCj/wCn/wCq"
    ),
    "OCEAN": (
        "AAAAAQAAAgAAAwAABAAABQAABgAABwAACAAACQAACgAACwAADAAADQAADgAADwAAEAAAEQAAEgAAEwAAFAAAFQAA"
        "FgAAFwAAGAAAGQAAGgAAGwAAHAAAHQAAHgAAHwAAIAAAIQAAIgAAIwAAJAAAJQAAJgAAJwAAKAAAKQAAKgAAKwAA"
        "LAAALQAALgAALwAAMAAAMQAAMgAAMwAANAAANQAANgAANwAAOAAAOQAAOgAAOwAAPAAAPQAAPgAAPwAAQAAAQQAA"
        "QgAAQwAARAAARQAARgAARwAASAAASQAASgAASwAATAAATQAATgAATwAAUAAAUQAAUgAAUwAAVAAAVQAAVgIAVwMA"
        "WAQAWQYAWggAWwkAXAoAXQwAXg0AXw8AYBEAYRIAYhQAYxUAZBYAZRgAZhoAZxsAaBwAaR4AaiAAayEAbCIAbSQA"
        "biYAbycAcCgAcSoAciwAcy0AdC4AdTAAdjIAdzMAeDQAeTYAejgAezkAfDoAfTwAfj4Afz8AgEAAgUIAgkQAg0UA"
        "hEYAhUgAhkoAh0sAiEwAiU4AilAAi1EAjFIAjVQAjlYAj1cAkFgAkVoAklwAk10AlF4AlWAAlmIAl2MAmGQAmWYA"
        "mmgAm2kAnGoAnWwAnm4An28AoHAAoXIAonQAo3UApHYApXgApnoAp3sAqHwAqX4AqoAAq4EDrIIGrYQJroYMr4cP"
        "sIgSsYoVsowYs40btI4etZAhtpIkt5MnuJQquZYtupgwu5kzvJo2vZw5vp48v58/wKFCwaJFwqRIw6VLxKZOxahR"
        "xqpUx6tXyKxaya5dyrBgy7FjzLJmzbRpzrZsz7dv0Lhy0bp10rx407171L5+1cCB1sKE18OH2MSK2caN2siQ28mT"
        "3MqW3cyZ3s6c38+f4NCi4dKl4tSo49Wr5Nau5dix5tq059u36Ny66d696uDA6+HD7OLG7eTJ7ubM7+fP8OjS8erV"
        "8uzY8+3b9O7e9fDh9vLk9/Pn+PTq+fbt+vjw+/nz/Pv2/fz5/v78////"
    ),
    "SUMMER": (
        "ZoAAZoABZoACZoEDZoIEZoIFZoIGZoMHZoQIZoQJZoQKZoULZoYMZoYNZoYOZocPZogQZogRZogSZokTZooUZooV"
        "ZooWZosXZowYZowZZowaZo0bZo4cZo4dZo4eZo8fZpAgZpAhZpAiZpEjZpIkZpIlZpImZpMnZpQoZpQpZpQqZpUr"
        "ZpYsZpYtZpYuZpcvZpgwZpgxZpgyZpkzZpo0Zpo1Zpo2Zps3Zpw4Zpw5Zpw6Zp07Zp48Zp49Zp4+Zp8/ZqBAZqBB"
        "ZqBCZqFDZqJEZqJFZqJGZqNHZqRIZqRJZqRKZqVLZqZMZqZNZqZOZqdPZqhQZqhRZqhSZqlTZqpUZqpVZqpWZqtX"
        "ZqxYZqxZZqxaZq1bZq5cZq5dZq5eZq9fZrBgZrBhZrBiZrFjZrJkZrJlZrJmZrNnZrRoZrRpZrRqZrVrZrZsZrZt"
        "ZrZuZrdvZrhwZrhxZrhyZrlzZrp0Zrp1Zrp2Zrt3Zrx4Zrx5Zrx6Zr17Zr58Zr59Zr5+Zr9/ZsCAZsCBZsCCZsGD"
        "ZsKEZsKFZsKGZsOHZsSIZsSJZsSKZsWLZsaMZsaNZsaOZsePZsiQZsiRZsiSZsmTZsqUZsqVZsqWZsuXZsyYZsyZ"
        "ZsyaZs2bZs6cZs6dZs6eZs+fZtCgZtChZtCiZtGjZtKkZtKlZtKmZtOnZtSoZtSpZtSqZtWrZtasZtatZtauZtev"
        "ZtiwZtixZtiyZtmzZtq0Ztq1Ztq2Ztu3Zty4Zty5Zty6Zt27Zt68Zt69Zt6+Zt+/ZuDAZuDBZuDCZuHDZuLEZuLF"
        "ZuLGZuPHZuTIZuTJZuTKZuXLZubMZubNZubOZufPZujQZujRZujSZunTZurUZurVZurWZuvXZuzYZuzZZuzaZu3b"
        "Zu7cZu7dZu7eZu/fZvDgZvDhZvDiZvHjZvLkZvLlZvLmZvPnZvToZvTpZvTqZvXrZvbsZvbtZvbuZvfvZvjwZvjx"
        "ZvjyZvnzZvr0Zvr1Zvr2Zvv3Zvz4Zvz5Zvz6Zv37Zv78Zv79Zv7+Zv//"
    ),
    "SPRING": (
        "/wD//gH//QL//AP/+wT/+gX/+Qb/+Af/9wj/9gn/9Qr/9Av/8wz/8g3/8Q7/8A//7xD/7hH/7RL/7BP/6xT/6hX/"
        "6Rb/6Bf/5xj/5hn/5Rr/5Bv/4xz/4h3/4R7/4B//3yD/3iH/3SL/3CP/2yT/2iX/2Sb/2Cf/1yj/1in/1Sr/1Cv/"
        "0yz/0i3/0S7/0C//zzD/zjH/zTL/zDP/yzT/yjX/yTb/yDf/xzj/xjn/xTr/xDv/wzz/wj3/wT7/wD//v0D/vkH/"
        "vUL/vEP/u0T/ukX/uUb/uEf/t0j/tkn/tUr/tEv/s0z/sk3/sU7/sE//r1D/rlH/rVL/rFP/q1T/qlX/qVb/qFf/"
        "p1j/pln/pVr/pFv/o1z/ol3/oV7/oF//n2D/nmH/nWL/nGP/m2T/mmX/mWb/mGf/l2j/lmn/lWr/lGv/k2z/km3/"
        "kW7/kG//j3D/jnH/jXL/jHP/i3T/inX/iXb/iHf/h3j/hnn/hXr/hHv/g3z/gn3/gX7/gH//f4D/foH/fYL/fIP/"
        "e4T/eoX/eYb/eIf/d4j/don/dYr/dIv/c4z/co3/cY7/cI//b5D/bpH/bZL/bJP/a5T/apX/aZb/aJf/Z5j/Zpn/"
        "ZZr/ZJv/Y5z/Yp3/YZ7/YJ//X6D/XqH/XaL/XKP/W6T/WqX/Wab/WKf/V6j/Vqn/Var/VKv/U6z/Uq3/Ua7/UK//"
        "T7D/TrH/TbL/TLP/S7T/SrX/Sbb/SLf/R7j/Rrn/Rbr/RLv/Q7z/Qr3/Qb7/QL//P8D/PsH/PcL/PMP/O8T/OsX/"
        "Ocb/OMf/N8j/Nsn/Ncr/NMv/M8z/Ms3/Mc7/MM//L9D/LtH/LdL/LNP/K9T/KtX/Kdb/KNf/J9j/Jtn/Jdr/JNv/"
        "I9z/It3/Id7/IN//H+D/HuH/HeL/HOP/G+T/GuX/Geb/GOf/F+j/Fun/Fer/FOv/E+z/Eu3/Ee7/EO//D/D/DvH/"
        "DfL/DPP/C/T/CvX/Cfb/CPf/B/j/Bvn/Bfr/BPv/A/z/Av3/Af7/AP//"
    ),
    "COOL": (
        "//8A//4B//0C//wD//sE//oF//kG//gH//cI//YJ//UK//QL//MM//IN//EO//AP/+8Q/+4R/+0S/+wT/+sU/+oV"
        "/+kW/+gX/+cY/+YZ/+Ua/+Qb/+Mc/+Id/+Ee/+Af/98g/94h/90i/9wj/9sk/9ol/9km/9gn/9co/9Yp/9Uq/9Qr"
        "/9Ms/9It/9Eu/9Av/88w/84x/80y/8wz/8s0/8o1/8k2/8g3/8c4/8Y5/8U6/8Q7/8M8/8I9/8E+/8A//79A/75B"
        "/71C/7xD/7tE/7pF/7lG/7hH/7dI/7ZJ/7VK/7RL/7NM/7JN/7FO/7BP/69Q/65R/61S/6xT/6tU/6pV/6lW/6hX"
        "/6dY/6ZZ/6Va/6Rb/6Nc/6Jd/6Fe/6Bf/59g/55h/51i/5xj/5tk/5pl/5lm/5hn/5do/5Zp/5Vq/5Rr/5Ns/5Jt"
        "/5Fu/5Bv/49w/45x/41y/4xz/4t0/4p1/4l2/4h3/4d4/4Z5/4V6/4R7/4N8/4J9/4F+/4B//3+A/36B/32C/3yD"
        "/3uE/3qF/3mG/3iH/3eI/3aJ/3WK/3SL/3OM/3KN/3GO/3CP/2+Q/26R/22S/2yT/2uU/2qV/2mW/2iX/2eY/2aZ"
        "/2Wa/2Sb/2Oc/2Kd/2Ge/2Cf/1+g/16h/12i/1yj/1uk/1ql/1mm/1in/1eo/1ap/1Wq/1Sr/1Os/1Kt/1Gu/1Cv"
        "/0+w/06x/02y/0yz/0u0/0q1/0m2/0i3/0e4/0a5/0W6/0S7/0O8/0K9/0G+/0C//z/A/z7B/z3C/zzD/zvE/zrF"
        "/znG/zjH/zfI/zbJ/zXK/zTL/zPM/zLN/zHO/zDP/y/Q/y7R/y3S/yzT/yvU/yrV/ynW/yjX/yfY/ybZ/yXa/yTb"
        "/yPc/yLd/yHe/yDf/x/g/x7h/x3i/xzj/xvk/xrl/xnm/xjn/xfo/xbp/xXq/xTr/xPs/xLt/xHu/xDv/w/w/w7x"
        "/w3y/wzz/wv0/wr1/wn2/wj3/wf4/wb5/wX6/wT7/wP8/wL9/wH+/wD/"
    ),
    "HSV": (
        "AAD/AAb/AAz/ABL/ABj/AB7/ACT/ACr/ADD/ADb/ADz/AEL/AEj/AE7/AFT/AFr/AGD/AGb/AGz/AHL/AHj/AH7/"
        "AIT/AIr/AJD/AJb/AJz/AKL/AKj/AK7/ALT/ALr/AMD/AMb/AMz/ANL/ANj/AN7/AOT/AOr/APD/APT9APf6APr3"
        "AP30AP/wAP/qAP/kAP/eAP/YAP/SAP/MAP/GAP/AAP+6AP+0AP+uAP+oAP+iAP+cAP+WAP+QAP+KAP+EAP9+AP94"
        "AP9yAP9sAP9mAP9gAP9aAP9UAP9OAP9IAP9CAP88AP82AP8wAP8qAP8kAP8eAP8YAP8SAP8MAP8GAP8ABv8ADP8A"
        "Ev8AGP8AHv8AJP8AKv8AMP8ANv8APP8AQv8ASP8ATv8AVP8AWv8AYP8AZv8AbP8Acv8AeP8Afv8AhP8Aiv8AkP8A"
        "lv8AnP8Aov8AqP8Arv8AtP8Auv8AwP8Axv8AzP8A0v8A2P8A3v8A5P8A6v8A8P8A9P0A9/oA+vcA/fQA//AA/+oA"
        "/+QA/94A/9gA/9IA/8wA/8YA/8AA/7oA/7QA/64A/6gA/6IA/5wA/5YA/5AA/4oA/4QA/34A/3gA/3IA/2wA/2YA"
        "/2AA/1oA/1QA/04A/0gA/0IA/zwA/zYA/zAA/yoA/yQA/x4A/xgA/xIA/wwA/wYA/wAA/wAG/wAM/wAS/wAY/wAe"
        "/wAk/wAq/wAw/wA2/wA8/wBC/wBI/wBO/wBU/wBa/wBg/wBm/wBs/wBy/wB4/wB+/wCE/wCK/wCQ/wCW/wCc/wCi"
        "/wCo/wCu/wC0/wC6/wDA/wDG/wDM/wDS/wDY/wDe/wDk/wDq/wDw/QD0+gD39wD69AD98AD/6gD/5AD/3gD/2AD/"
        "0gD/zAD/xgD/wAD/ugD/tAD/rgD/qAD/ogD/nAD/lgD/kAD/igD/hAD/fgD/eAD/cgD/bAD/ZgD/YAD/WgD/VAD/"
        "TgD/SAD/QgD/PAD/NgD/MAD/KgD/JAD/HgD/GAD/EgD/DAD/BgD/AAD/"
    ),
    "PINK": (
        "AAAABgYKDQ0UExMeGhooHR0sHx8wIiI0JSU4Jyc8KSk/KytCLS1FLy9IMTFKMjJNNDRQNjZSNzdUOTlXOjpZPDxb"
        "PT1dPj5fQEBiQUFkQkJlRERnRUVpRkZrR0dtSUlvSkpxS0tyTEx0TU12Tk53T095UFB7UVF8UlJ+U1OAVFSBVVWD"
        "VlaEV1eGWFiHWVmJWlqKW1uLXFyNXV2OXl6QX1+RYGCSYWGUYmKVYmKWY2OYZGSZZWWaZmacZ2edZ2eeaGifaWmh"
        "amqia2ujbGykbGylbW2nbm6ob2+pb2+qcHCrcXGscnKucnKvc3OwdHSxdXWydXWzdna0d3e1d3e3eHi4eXm5enq6"
        "enq7e3u8fHy9fHy+fX2/fn7Afn/Bf4DCgIHDgILDgYPEgoXEgobFg4jFhInGhIrGhYzGho3Hho/Hh5DIh5HIiJPJ"
        "iZTJiZXJipfKi5jKi5nLjJvLjJzLjZ3Mjp/MjqDNj6HNj6LOkKPOkaXOkabPkqfPkqjQk6nQlKvQlKzRla3Rla7S"
        "lq/SlrDSl7HTl7PTmLTUmbXUmbbUmrfVmrjVm7nWm7rWnLvWnLzXnb3Xnr7Ynr/Yn8DYn8HZoMLZoMPaocXaocba"
        "osfbosjbo8nco8ncpMrcpMvdpczdpc3dps7eps/ep9Dfp9HfqNLfqNPgqdTgqdXhqtbhqtfhq9jiq9nirNrirNrj"
        "rdvjrdzkrt3krt7kr9/lr+DlsOHlsOLmsePmsePmsuTnsuXns+bos+fotOjotejptunpt+npuOrquurqu+vrvOvr"
        "vuvrv+zswOzswuzsw+3txO3txu3tx+7uyO7uye7uy+/vzO/vzfDwzvDw0PDw0fHx0vHx0/Hx1PLy1vLy1/Ly2PPz"
        "2fPz2vPz3PT03fT03vT03/X14PX14fX14vb25Pb25ff35vf35/f36Pj46fj46vj46/n57Pn57fn57vr68Pr68fr6"
        "8vv78/v79Pv79fz89vz89/z8+P39+f39+v39+/7+/P7+/f7+/v//////"
    ),
    "HOT": (
        "AAAAAAACAAAFAAAIAAAKAAAMAAAPAAASAAAUAAAWAAAZAAAbAAAeAAAgAAAjAAAmAAAoAAAqAAAtAAAwAAAyAAA0"
        "AAA3AAA5AAA8AAA+AABBAABEAABGAABIAABLAABOAABQAABSAABVAABYAABaAABcAABfAABiAABkAABmAABpAABs"
        "AABuAABwAABzAAB1AAB4AAB6AAB9AACAAACCAACEAACHAACKAACMAACOAACRAACUAACWAACYAACbAACeAACgAACi"
        "AAClAACoAACqAACsAACvAACyAAC0AAC2AAC5AAC8AAC+AADAAADDAADGAADIAADKAADNAADQAADSAADUAADXAADa"
        "AADcAADfAADhAADkAADmAADoAADrAADuAADwAADzAAD1AAD4AAD6AAD8AAL9AAT+AAb+AAj/AAr/AA3/AA//ABL/"
        "ABT/ABb/ABn/ABz/AB7/ACD/ACP/ACb/ACj/ACr/AC3/ADD/ADL/ADT/ADf/ADr/ADz/AD7/AEH/AET/AEb/AEj/"
        "AEv/AE7/AFD/AFL/AFX/AFj/AFr/AFz/AF//AGL/AGT/AGb/AGn/AGz/AG7/AHD/AHP/AHb/AHj/AHr/AH3/AID/"
        "AIL/AIT/AIf/AIr/AIz/AI7/AJH/AJT/AJb/AJj/AJv/AJ7/AKD/AKL/AKX/AKj/AKr/AKz/AK//ALL/ALT/ALb/"
        "ALn/ALz/AL7/AMD/AMP/AMb/AMj/AMr/AM3/AND/ANL/ANT/ANf/ANr/ANz/AN7/AOH/AOT/AOb/AOj/AOv/AO7/"
        "APD/APL/APX/APj/APr/Avz/Bf3/CP7/C///D///FP//Gf//Hv//I///KP//Lf//Mv//N///PP//Qf//Rv//S///"
        "UP//Vf//Wv//X///ZP//af//bv//c///eP//ff//gv//h///jP//kf//lv//m///oP//pf//qv//r///tP//uf//"
        "vv//w///yP//zf//0v//1///3P//4f//5v//6///8P//9f//+v//////"
    ),
    "PARULA": (
        "hyo1iiwzjS4yjy8wkjEvlTMtmDUsmzcqnjgooDonozwlpj4kqT8irEEhr0MfsUUdtEcct0gaukoZvUwXv04WwlAU"
        "xVESyFMRy1UPzlcO0FgM01oL1lwJ2V4I3GAG32EE4WMD4WQE4GUE4GYF32cF32gG32oG3msH3mwH3W0I3W4I3G8J"
        "3HAJ3HEK23IL23ML2nQM2nUM2nYN2XcN2XgO2HoO2HsP2HwP130Q134Q1n8R1oAR1oES1YIT1YMT1IQU1IUU04YT"
        "04cT04gT0ooS0osS0YwR0Y0R0I4Q0I8Q0JAPz5EPz5IPzpMOzpQOzZUNzZYNzJcMzJgMzJoMy5sLy5wLyp0Kyp4K"
        "yZ8JyaAJyKEIyKIIyKMIx6QHx6UHxqYGxqcHxKgIw6gKwqkLwakNv6oOvqsQvasSu6wTuqwVua0WuK0Ytq4Zta8b"
        "tK8ds7AesbAgsLEhr7EjrrIkrLMmq7MoqrQpqbQrp7UsprUupbYvpLYxorczobg0oLg2n7k3nbk5nLk8m7k/mbpC"
        "mLpFl7pIlbpKlLpNk7tQkbtTkLtWjrtYjbtbjLxeirxhibxkiLxnhrxphbxshL1vgr1ygb11gL14fr16fb59fL6A"
        "er6Deb6GeL6Idr+Ldb+OdL+Rcr+Tcr+Wcb+YcL6ab76cbr6fbb6hbL6ja76lar2nab2qaL2saL2uZ72wZr2zZb21"
        "ZLy3Y7y5Yry7Yby+YLzAX7zCXrvEXrvHXbvJXLvLW7vNWrvQWbvSWLrUV7rWVrrYVbraVLvbU7zcUbzdUL3eT77f"
        "Tr7gTL/iS7/jSsDkScHlR8HmRsLnRcPoQ8PpQsTqQcXrQMXsPsbuPcbvPMfwO8jxOcjyOMnzN8r0Nsr1NMv2M8v3"
        "Msz5Mc36L837Ls78Lc/8LNH8K9L8KtP8KdX8KNb7J9j7Jtn7Jdv7JNz7I937It/7IeD7IOL7H+P7HuT7Heb6HOf6"
        "G+n6Gur6Gev6GO36F+76FvD6FfH6FPP6E/T5EvX5Eff5EPj5D/r5Dvv5"
    ),
    "MAGMA": (
        "BAAABQABBgEBCAEBCQECCwICDQICDwMDEgMDFAQEFgQFGAUGGgUGHAYHHgcIIAcJIggKJAkLJgkMKQoNKwsOLQsQ"
        "LwwRMQ0SNA0TNg4UOA4VOw8WPQ8YPxAZQhAaRBAcRxEdSREeSxEgThEhUBEiUxIkVRIlWBInWhEpXBEqXxEsYREt"
        "YxEvZRExZxAzaRA0axA2bBA4bg85cA87cQ89cg8/dA9AdQ9Cdg9EdxBFeBBHeBBJeRBKehFMexFOexJPfBJRfBNS"
        "fRNUfRRWfhVXfhVZfhZafxZcfxddfxhfgBhggBligBpkgBplgBtngRxogRxqgR1rgR1tgR5ugR9wgR9ygSBzgSF1"
        "gSF2gSJ4giJ5giN7giN8giR+giWAgSWBgSaDgSaEgSeGgSeIgSiJgSmLgSmMgSqOgSqQgSuRgCuTgCyUgCyWgC2Y"
        "gC2Zfy6bfy6cfy+efy+gfjChfjCjfjGlfTGmfTKofTOqfDOrfDStezSuezWwezWyejazeja1eTe3eTe4eDi6eDm8"
        "dzm9dzq/djrAdTvCdTzEdDzFcz3Hcz7Icj7KcT/McUDNcEDPb0HQb0LSbkPTbUTVbEXWbEXYa0bZakfbaUjcaEne"
        "aErfZ0zgZk3iZU7jZE/kZFDlY1LnYlPoYlTpYVbqYFfrYFjsX1rtXlvuXl3vXl/wXWDxXWLyXGTyXGXzXGf0XGn0"
        "XGv1XGz2XG72XHD3XHL3XHT4XHb4XXj5XXn5XXv5Xn36Xn/6X4H6X4P7YIX7YYf7YYn8Yor8Y4z8ZI78ZZD8ZpL9"
        "Z5T9aJb9aZj9apr9a5v9bJ3+bZ/+bqH+b6P+caX+cqf+c6n+dKr+dqz+d67+eLD+erL+e7T+fLb+frf+f7n+gbv+"
        "gr3+hL/+hcH+h8L+iMT+isb+jMj+jcr+j8z+kM3+ks/+lNH+ldP+l9X+mdf+mtj+nNr9ntz9oN79oeD9o+L9peP9"
        "p+X9qef9qun9rOv9ruz8sO78svD8tPL8tvT8uPb8uff8u/n8vfv8v/38"
    ),
    "INFERNO": (
        "BAAABQABBgEBCAEBCgECDAICDgICEAIDEgMEFAMEFwQFGQQGGwUHHQUIHwYJIgcKJAcLJggMKQgNKwkOLQkQMAoR"
        "MgoSNAsUNwsVOQsWPAwYPgwZQQwbQwwcRQweSAwfSgwhTAwjTwwkUQwmUwsoVQspVwsrWQstWwovXAoxXgoyXwo0"
        "YQk2Ygk4Ywk5ZAk7ZQk9Zgk+ZwpAaApCaApEaQpFagtHagtJawxKawxMbA1NbA1PbA5RbQ5SbQ9UbQ9VbhBXbhBZ"
        "bhFabhJcbhJdbhNfbhNhbhRibhVkbhVlbhZnbhZpbhdqbhhsbhhtbhlvbhlxbhpybhp0bht1bRx3bRx4bR16bR18"
        "bR59bB5/bB+AbCCCayCEayGFayGHaiKIaiKKaSOMaSONaSSPaCWQaCWSZyaTZyaVZieXZieYZSiaZCmbZCmdYyqf"
        "YyqgYiuiYSyjYCylYC2mXy6oXi6pXi+rXTCtXDCuWzGwWjKxWjKzWTO0WDS2VzW3VjW5VTa6VDe8Uzi9Ujm/UTrA"
        "UDrBTzvDTjzETT3GTD7HSz/ISkDKSUHLSELMR0PORkTPRUXQREbSQ0fTQkjUQUrVP0vXPkzYPU3ZPE7aO1DbOlHd"
        "OFLeN1PfNlXgNVbhNFfiM1njMVrkMFzlL13mLl7nLWDoK2HpKmPqKWTrKGbrJmfsJWntJGruI2zvIW7vIG/wH3Hx"
        "HXPxHHTyG3bzGXjzGHn0F3v1FX31FH72E4D2EoL3EIT3D4X4Dof4DIn4C4v5Coz5CY75CJD6B5L6B5T6Bpb7Bpf7"
        "Bpn7Bpv7B537B5/8CKH8CaP8CqX8DKb8Daj8D6r8Eaz8Eq78FLD8FrL8GLT8Grb7Hbj7H7r7Ibz7I777JsD6KML6"
        "KsT6Lcb6L8f5Msn5Ncv5N834Os/4PdH3QNP3Q9X2Rtf2Sdn1TNv1T930U9/0VuH0WuPzXeXzYebyZejyaerybezx"
        "ce3xde/xefHxffLygvTyhvXzivbzjvj0kvn1lvr2mvv4nfz5of36pP/8"
    ),
    "PLASMA": (
        "hwgNiAcQiQcTigcWjAYZjQYbjgYdjwYgkAYikQYkkQUmkgUokwUqlAUslQUulgUvlwUxlwUzmAQ1mQQ3mgQ4mgQ6"
        "mwQ8nAQ+nAQ/nQRBngNDngNEnwNGnwNIoANJoQNLoQJMogJOogJQowJRowJTpAJVpAFWpAFYpQFZpQFbpgFcpgFe"
        "pgFgpwBhpwBjpwBkpwBmqABnqABpqABqqABsqABuqABvqABxqAFyqAF0qAF1qAF3qAF4qAJ6qAJ7qAN9qAN+qASA"
        "pwSBpwWDpwWEpgaGpgeHpgiIpQmKpQqLpQuNpAyOpA2Pow6Row+SohCUoRGVoROWoBSYnxWZnxaanhecnRidnRme"
        "nBqgmxuhmh2imh6jmR+lmCCmlyGnliKolSOqlCSrlCaskyetkiiukSmwkCqxjyuyjiyzjS60jC+1izC2ijG3iTK4"
        "iDO6iDS7hzW8hje9hTi+hDm/gzrAgjvBgTzCgD3Dfz7EfkDFfUHGfELHe0PIekTJekXKeUbLeEfMd0nMdkrNdUvO"
        "dEzPc03Qck7RcU/ScVHTcFLUb1PVblTVbVXWbFbXa1fYaljZalraaVvaaFzbZ13cZl7dZV/eZGHeY2LfY2PgYmTh"
        "YWXiYGbiX2jjXmnkXWrlXWvlXGzmW27nWm/nWXDoWHHpV3LpV3TqVnXrVXbrVHfsU3ntUnrtUXvuUXzvUH7vT3/w"
        "ToDwTYHxTIPxS4TyS4XzSofzSYj0SIn0R4v1Roz1RY32RI/2RJD3Q5H3QpP3QZT4QJX4P5f5Ppj5Ppr5PZv6PJz6"
        "O576Op/7OaH7OKL7OKP8N6X8Nqb8Naj8NKn8M6v9M6z9Mq79Ma/9MLH9L7L9L7T9LrX9Lbf+LLj+LLr+K7v+Kr3+"
        "Kr7+KcD+KcL9KMP9J8X9J8b9J8j9Jsr9Jsv9Jc38Jc78JdD8JdL8JNP7JNX7JNf7JNj6JNr6JNz5Jd35Jd/4JeH4"
        "JeL3JeT3Jub2Juj2Jun1J+v1J+30J+7zJ/DzJ/LyJvTxJfXxJPfwIfnw"
    ),
    "VIRIDIS": (
        "VAFEVgJEVwRFWQVFWgdGXAhGXQpGXgtGYA1HYQ5HYxBHZBFHZRNHZxRIaBZIaRdIahhIbBpIbRtIbhxIbx1IcB9I"
        "cSBIcyFIdCNIdSRIdiVIdyZIeChIeSlIeipHeixHey1HfC5HfS9HfjBGfjJGfzNGgDRGgTVFgTdFgjhFgzlEgzpE"
        "hDtEhD1DhT5DhT9ChkBChkFCh0JBh0RBiEVAiEZAiEc/iUg/iUk+iUo+ikw+ik09ik49ik88i1A8i1E7i1I7i1M6"
        "jFQ6jFU5jFY5jFg4jFk4jFo3jVs3jVw2jV02jV41jV81jWA0jWE0jWIzjWMzjmQyjmUyjmYxjmcxjmgxjmkwjmow"
        "jmsvjmwvjm0ujm4ujm8ujnAtjnEtjnEsjnIsjnMsjnQrjnUrjnYqjncqjngqjnkpjnopjnspjnwojn0ojn4njn8n"
        "joAnjoEmjoImjoImjoMljoQljoUljoYkjockjogjjokjjYojjYsijYwijY0ijY4hjY8hjZAhjJEhjJIgjJIgjJMg"
        "jJQfi5Ufi5Yfi5cfi5gfipkfipofipseiZweiZ0eiZ4fiJ8fiKAfiKEfh6Efh6IfhqMghqQghaUhhaYhhacihKgi"
        "g6kjg6okgqslgqwlga0mga0ngK4of68pf7AqfrEsfbItfLMufLQve7UxerYyebY0ebc1eLg3d7k4dro6dbs7dLw9"
        "c7w/cr1Acb5CcL9Eb8BGbsFIbcFKbMJMa8NOasRQacVSaMVUZ8ZWZcdYZMhaY8hcYsleYMpgX8tjXstlXMxnW81p"
        "Ws1sWM5uV89wVtBzVNB1U9F3UdF6UNJ8TtN/TdOBS9SESdWGSNWJRtaLRdaOQ9eQQdeTQNiVPtiYPNmbO9mdOdqg"
        "N9qiNtulNNuoMtyqMNytL92wLd2yK961Kd64KN66Jt+9Jd/AI9/CIeDFIODIH+HKHeHNHOHQG+LSGuLVGeLYGePa"
        "GOPdGOPfGOTiGeTlGeTnGuXqG+XsHOXvHeXxHub0IOb2Ieb4I+f7Jef9"
    ),
    "CIVIDIS": (
        "TiIATyMAUSQAUyUAVCUAViYAWCcAWSgAWygAXSkAXyoAYSoAYisAZCwAZiwAaC0Aai4AbC4AbS8AbzAAcDAAcDEA"
        "cTEAcTIBcTMFcDMIcDQMcDUPcDUScDYUcDcWbzcYbzgabzkcbzoebzogbjshbjwjbjwkbj0mbj4nbj8pbT8qbUAr"
        "bUEtbUEubUIvbUMxbUMybUQzbEU0bEU1bEY2bEc4bEg5bEg6bEk7bEo8bEo9bEs+bEw/bExAbE1BbE5CbE5DbE9E"
        "bFBFbFFGbFFHbFJIbFNJbFNKbFRLbFVMbFVNbFZObFdPbFdQbVhRbVlSbVpTbVpUbVtVbVxVbVxWbV1XbV5Ybl5Z"
        "bl9abmBbbmFcbmFdbmJeb2Neb2Nfb2Rgb2Vhb2VicGZjcGdkcGhlcGhlcGlmcWpncWpocWtpcWxqcm1rcm1scm5s"
        "cm9tc29uc3Bvc3FwdHJxdHJydHNydXRzdXR0dXV1dnZ2dnd3d3d3d3h4d3l5eHp6eHp7eHt8eHx9eHx+eH1+eH5/"
        "eH+AeH+BeYCCeYGDeYKEeYKFeYOGeISHeIWIeIWJeIaKeIeLeIiMeIiNeImOeIqPeIuQeIuReIySeI2SeI6Td46U"
        "d4+Vd5CWd5GXd5KYd5KZdpOadpSbdpWcdpWddpaedZefdZigdZmhdZmidJqjdJukdJyldJymc52nc56oc5+pc6Cq"
        "cqCrcqGscqKtcaOucaSvcaWwcKWxcKazb6e0b6i1b6m2bqm3bqq4bau5bay6ba27bK68bK69a6++a7C/arHAarLB"
        "abPCabPDaLTEaLXFZ7bGZ7fHZrjIZbnJZbnLZLrMY7vNY7zOYr3PYr7QYb/RYMDSX8DTX8HUXsLVXcPWXMTXXMXZ"
        "W8baWsfbWcjcWMjdWMneV8rfVsvgVczhVM3iU87kUs/lUdDmUNHnT9LoTtPpTNPqS9TrStXtSdbuSNfvRtjwRdnx"
        "RNryQtvzQdz1P932Pt73PN/4OuD5OOH7NuL8NOP9NOT+NeX+Nub+OOj+"
    ),
    "TWILIGHT": (
        "4tni4tnh4tng4dne4Nnd39nc39ja3tjY3dfW3NbU29XS2dTQ2NPN19LL1tHI1c/F1M7C08y/0su80Mq5z8i2zsez"
        "zcWwzcOtzMKqy8Cnyr6kyb2hybufyLmcyLiZx7aWxrSUxrKRxrGOxa+Mxa2JxKuHxKmFxKeDw6aAw6R+wqJ8wqB6"
        "wp54wpx3wZp1wZhzwZZywJRwwJJvwJBtv45sv4xrv4pqvohovoZnvoRnvYJmvYBlvH5kvHtju3lju3diunViunNh"
        "uXBhuG5huGxgt2pgtmdgtWVftWNftGBfs15fslxfsVlfsFdfr1VerVJerFBeq01eqkteqElep0ZepUReo0Fdoj9d"
        "oDxdnjpdnDhcmjVcmDNbljBbky5akSxajipZjCdYiSVYhiNXgyFWgCBVfR5UeRxSdhtRcxlQbxhObBdNaBZLZRVJ"
        "YhRIXhRGWxNEWBNDVRJBUhI/TxE+TBE8SRE7RxE5RBE4QhE2QBE1PhE0PBEzOxIyORIxOBMwNhQwNxMxNxIyOBIz"
        "OBI1OBE2ORE4OhE5OxE7OxE9PBE/PRJBPhJDPxJFQBNHQRNKQhNMRBRORRRRRhVTRxVWSBZZSRdbShdeShhhSxlj"
        "TBlmTRpoTRtrThxuThxwTx1zTx51UB94UCB7UCJ9UCN/UCSCUCWEUCeHUCiJUCqLUCuNUC2PUC+RUDGUUDKWUDSX"
        "UDaZUDibUDqdUDyfUD6hUECiUEKkUESmUEanUEipUEqqUE2sUU+tUVGvUlOwUlWyUlizU1q0VFy1VF+3VWG4VmO5"
        "V2a6WGi7WWq8Wm29W2++XHK/XXTAX3bBYHnBYnvCZH7DZYDEZ4PEaYXFa4jGbYrGcIzHco/HdJHId5TJepbJfJnK"
        "f5vKgp7LhaDLiKLMi6XMjqfNkarOlKzOmK7Pm7DQnrPQorXRpbfSqLnTrLzUr77Us8DVtsLWucTXvcbYwMjZw8ra"
        "x8zbys3czc/cz9Dd0tLe1NPe19Xf2dbg29fg3Nfh3tjh39ji4dni4tni"
    ),
    "TWILIGHT_SHIFTED": (
        "NxQwORMxOhIyPBEzPhE0QBE1QhE2RBE3RhE5SRE6SxE8ThE9URI/VBJBVxJCWhNEXRRGYRRHZBVJaBZLaxdMbhhO"
        "chlPdRpReRxSfB1Tfx9UgiFWhSNXiCVXiydYjilZkCtaky5alTBblzJbmjVcnDdcnjldoDxdoT5do0FdpUNepkZe"
        "qEheqUpeq01erE9erVJerlRer1ZfsVlfsltfs15fs2BftGJftWRftmdgt2lgt2tguG5guXBhuXJhunRiu3Ziu3lj"
        "vHtjvH1kvX9lvYFlvYNmvoVnvohov4ppv4xqv45swJBtwJJuwJRwwZZxwZhzwZp0wZx2wp54wp96wqF8w6N+w6WA"
        "w6eCxKmExKuHxa2Jxa6LxbCOxrKQxrSTx7WWx7eYyLmbybueybyhyr6ky8Cny8GqzMOtzcWwzsazz8i20Mm50cu8"
        "0sy/087C1c/F1tDH19HK2NPN2dTP2tXR29bU3NfW3dfY3tja39nb4Nnd4dne4dnf4tnh4tni4tni4Nni39jh3djh"
        "3Nfh2tbg2NXf1tTf1NPe0dLez9DdzM7cyc3bxsvbw8nav8fZvMXYucPXtcHWsr/Vrr3Uq7vTqLnSpLfSobTRnbLQ"
        "mrDPl67Pk6vOkKnNjafNiqTMh6LMhJ/LgZ3LfpvKfJjJeZbJdpPIdJHIcY7Hb4zHbYnGa4fFaYTFZ4LEZYDDY33D"
        "YnvCYHjBXnbAXXPAXHG/W26+WWy9WGq8V2e7VmW6VmO5VWC3VF62U1y1U1m0UleyUlWxUVOwUVCuUU6tUEysUEqq"
        "UEioUEanUESlUEGkUD+iUD2gUDueUDmdUDebUDaZUDSXUDKVUDCTUC6RUC2PUCuNUCqKUCiIUCeGUCWEUCSBUCN/"
        "UCF8UCB6Tx93Tx51Tx1yThxwThttTRtqTRpoTBllSxhjShhgSRddSBZbRxZYRhVVRRVTRBRQQxROQhNLQRNJQBJH"
        "PxJEPhJCPRJAPBE+OxE8OhE6OhE5ORE3OBE2OBI0NxIzNxIyNxMxNhQv"
    ),
    "TURBO": (
        "OxIwQxUyShgzURs0WB41XyE2ZiQ3bSc4cyo5eS06gC87hjI8izU9kTg+lzs/nD4/okBAp0NBrEZBsUlCtUtCuk5D"
        "v1FEw1REx1ZEy1lFz1xF015F1mFG2mRG3WZG4GlG42tG5m5H6XFH63NH7nZH8HhH8ntH9H1G9oBG+IJG+oVG+4dG"
        "/IpF/YxF/o9E/pFD/5RC/5ZB/5lA/ps+/p49/aA7/KM6+6U4+qg3+Ks1960z9a8x9LIv8rQu8Lcs7rkq67wo6b4n"
        "58Al5MMj4sUi38cg3ckf2sse2M0c1dAb0tIa0NQazdUZytcYyNkYxdsYwt0YwN4YveAYu+IZueMZtuQatOYcsucd"
        "r+kfrOogqusip+wlpO4noe8qnvAsm/EvmPIylPM1kfQ4jvU8ivY/h/dDhPhGgPhKfflOevpSdvpVc/tZb/xdbPxh"
        "af1lZv1pYv5tX/5xXP51Wf55Vv99U/+AUf+ETv+IS/+LSf+PR/+SRP6WQv6ZQP6cP/2fPf2hPPykOvynOfupOPus"
        "N/qvNvmxNvi0Nfe3Nfa5NPW8NPS+NPPBNPHDNPDGNO/INO3LNOzNNOrQNenSNefUNeXXNuTZNuLbN+DdN9/fN93h"
        "ONvjONnlOdfnOdXpOdPrOtHsOs/uOs3vOsvxOsnyOsf0OsX1OsP2OsH3Ob74Obz5Obr6OLj7N7b7NrP8NrH8Na79"
        "NKz9M6n+Mqf+MaT+MKH+L57+LZv+LJn+K5b+KpP+KZD+J439Jor9JYf8I4T8IoH7IX77H3v6Hnj5HXX5HHL4Gm/3"
        "GWz2GGn1F2b0FWPzFGDyE13xElvwEVjvEFXtD1PsDlDrDU7qDEvoDEnnC0flCkXkCkPiCUHhCD/fCD3dBzvcBzna"
        "BjfYBjXWBTPUBTHSBS/QBC3OBCvMBCrKAyjIAybFAyXDAiPBAiG+AiC8Ah65Ah23ARu0ARqyARivAResARapARSn"
        "AROkARKhARCeAQ+bAQ6YAQ2VAQuSAQqOAgmLAgiIAgeFAgaBAgV+AwR6"
    ),
    "DEEPGREEN": (
        "AAAAAAEAAAIAAAMAAAQAAAUAAAYAAAcAAAgAAAkAAAoAAAsAAAwAAA0AAA4AAA8AABAAABEAABIAABMAABQAABUA"
        "ABYAABcAABgAABkAABoAABsAABwAAB0AAB4AAB8AACAAACEAACIAACMAACQAACUAACYAACcAACgAACkAACoAACsA"
        "ACwAAC0AAC4AAC8AADAAADEAADIAADMAADQAADUAADYAADcAADgAADkAADoAADsAADwAAD0AAD4AAD8AAEAAAEEA"
        "AEIAAEMAAEQAAEUAAEYAAEcAAEgAAEkAAEoAAEsAAEwAAE0AAE4AAE8AAFAAAFEAAFIAAFMAAFQAAFUAAlYAA1cA"
        "BFgABlkACFoACVsAClwADF0ADV4AD18AEWAAEmEAFGIAFWMAFmQAGGUAGmYAG2cAHGgAHmkAIGoAIWsAImwAJG0A"
        "Jm4AJ28AKHAAKnEALHIALXMALnQAMHUAMnYAM3cANHgANnkAOHoAOXsAOnwAPH0APn4AP38AQIAAQoEARIIARYMA"
        "RoQASIUASoYAS4cATIgATokAUIoAUYsAUowAVI0AVo4AV48AWJAAWpEAXJIAXZMAXpQAYJUAYpYAY5cAZJgAZpkA"
        "aJoAaZsAapwAbJ0Abp4Ab58AcKAAcqEAdKIAdaMAdqQAeKUAeqYAe6cAfKgAfqkAgKoAgasDgqwGhK0Jhq4Mh68P"
        "iLASirEVjLIYjbMbjrQekLUhkrYkk7cnlLgqlrktmLowmbszmrw2nL05nr48n78/ocBCosFFpMJIpcNLpsROqMVR"
        "qsZUq8dXrMharsldsMpgsctjssxmtM1pts5st89vuNByutF1vNJ4vdN7vtR+wNWBwtaEw9eHxNiKxtmNyNqQyduT"
        "ytyWzN2Zzt6cz9+f0OCi0uGl1OKo1eOr1uSu2OWx2ua02+e33Oi63um94OrA4evD4uzG5O3J5u7M5+/P6PDS6vHV"
        "7PLY7fPb7vTe8PXh8vbk8/fn9Pjq9vnt+Prw+fvz+/z2/P35/v78////"
    ),
}


def lut(colormap: int) -> np.ndarray:
    """``(256, 3)`` uint8 BGR table of OpenCV colormap id ``colormap``."""
    raw = base64.b64decode(_TABLES[NAMES[colormap]])
    return np.frombuffer(raw, dtype=np.uint8).reshape(256, 3)
